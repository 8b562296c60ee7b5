"""docs/deployment.md against compose.yaml and the command line: the services it names
exist, its commands are ones `alpha-panda` and the stack accept, and its env-file one-liner
makes an env file that satisfies every variable compose.yaml requires."""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ops.cli import build_parser
from tests.compose.stack import COMPOSE, ENV_EXAMPLE, ROOT, env_example, interpolate, services

DOC = ROOT / "docs" / "deployment.md"

#: `docker compose <sub>` options that take a value, per subcommand
_VALUED = {"-e", "--env", "-f", "--profile", "-u", "--user", "-w", "--workdir"}


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _commands() -> list[str]:
    """Every command of the doc: lines of its sh blocks, and inline code spans that start
    with `alpha-panda` or `docker compose` (spans with an elided part left out)."""
    text = DOC.read_text()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", _section("Compose"), flags=re.S):
        found += [line.strip() for line in block.splitlines() if line.strip()]
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):  # the app's, everywhere
        found += [ln.strip() for ln in block.splitlines() if ln.strip().startswith("alpha-panda ")]
    prose = re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " ")
    for span in re.findall(r"`([^`]+)`", prose):
        if span.startswith(("alpha-panda ", "docker compose ")) and not re.search(
            r"\.\.\.|<|\[", span
        ):
            found.append(span)
    return found


def _compose_call(tokens: list[str]) -> tuple[str, list[str], list[str]]:
    """`docker compose [--profile P] SUB [opts] [SERVICE ...] [ARGS]` -> (SUB, services, ARGS)."""
    rest = tokens[2:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in _VALUED else rest[1:]
    sub, rest = rest[0], rest[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in _VALUED else rest[1:]
    if sub in ("run", "exec"):
        return sub, rest[:1], rest[1:]
    return sub, rest, []


def test_the_compose_section_names_every_service_and_only_those() -> None:
    table = _section("Compose").split("\n### ")[0]
    named = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            named |= set(re.findall(r"`([a-z0-9-]+)`", row.split("|")[1]))
    assert named == set(services()), (
        f"only in the doc: {sorted(named - set(services()))}; "
        f"only in compose.yaml: {sorted(set(services()) - named)}"
    )


@pytest.mark.parametrize("command", _commands())
def test_each_command_of_the_doc_is_real(command: str) -> None:
    tokens = [t for t in shlex.split(command) if t != "&"]  # a command run in the background
    if tokens[0] == "alpha-panda":
        build_parser().parse_args(tokens[1:])
    elif tokens[:2] == ["docker", "compose"]:
        sub, named, args = _compose_call(tokens)
        assert sub in ("up", "ps", "run", "exec", "logs", "down", "stop", "rm"), command
        for name in named:
            assert name in services(), f"{command}: no service {name}"
        if sub == "run" and named == ["cli"]:
            build_parser().parse_args(args)
        if sub == "exec" and args[:1] == ["alpha-panda"]:
            build_parser().parse_args(args[1:])
    elif tokens[0] in ("python", "python3", "(umask"):
        pass  # the env one-liner (run below) and the structural tests (this file among them)
    else:
        raise AssertionError(f"a command the doc's tests do not know: {command}")


def test_the_env_one_liner_fills_every_secret_compose_requires(tmp_path: Path) -> None:
    (line,) = [c for c in _commands() if c.startswith("(umask 077")]
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env.example")
    python = shutil.which("python3") or sys.executable
    done = subprocess.run(
        ["sh", "-c", line.replace("python3 ", f"{shlex.quote(python)} ", 1)],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = env_example(env)
    assert set(values) == set(env_example())
    interpolate(COMPOSE.read_text(), values)  # raises on a required variable left empty
    assert values["KITE_ACCESS_TOKEN"] == ""  # the day's login, not a random string
