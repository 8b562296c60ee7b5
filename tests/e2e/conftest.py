"""The end-to-end harness: the real `alpha-panda up` as a child process on a NATS of its own.

Nothing is faked: the process reads its configuration from the environment, as an operator
would set it, and the tests watch it only through NATS (the streams and `alpha.status`) and
through the files it writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from schemas.envelope import Envelope, decode
from schemas.events import Event
from schemas.names import STATUS_SUBJECT
from supervisors.bus import Bus
from supervisors.embedded_nats import free_port

DATA = Path(__file__).parent / "data"

#: variables a developer's shell (or .env) may set that would change what `up` connects to
_FOREIGN = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL")


class AlphaPanda:
    """One `alpha-panda up` child process; its stdout and stderr go to `log`."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, data_dir: Path) -> None:
        self.proc = proc
        self.log = log
        self.data_dir = data_dir

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]

    def assert_running(self) -> None:
        assert self.proc.poll() is None, f"alpha-panda up exited early:\n{self.output()}"

    async def stop(self, timeout_s: float = 20) -> int:
        """SIGTERM, as an operator's Ctrl-C or a container stop; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, timeout_s)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def alpha_panda_env(
    workdir: Path,
    *,
    nats_url: str,
    strategies: Path,
    feed: str | None = None,
    risk_limits: Mapping[str, Any] | None = None,
    paper: Mapping[str, Any] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of one run: embedded stores under `workdir`, nothing inherited that
    could point the process at another server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ALPHA_PANDA_") and k not in _FOREIGN
    }
    env.update(
        NATS_URL=nats_url,
        ALPHA_PANDA_ENV="test",
        ALPHA_PANDA_DATA_DIR=str(workdir / "var"),
        ALPHA_PANDA_STRATEGIES=str(strategies),
        ALPHA_PANDA_WEB_ADDR=f"127.0.0.1:{free_port()}",
        ALPHA_PANDA_PNL_INTERVAL_S="0.5",
        ALPHA_PANDA_RISK_LIMITS=json.dumps(risk_limits or {}),
        ALPHA_PANDA_PAPER=json.dumps(paper or {}),
    )
    if feed is not None:
        env["ALPHA_PANDA_FEED"] = feed
    env.update(extra or {})
    return env


def launch(workdir: Path, *, roles: Sequence[str] = (), **settings: Any) -> AlphaPanda:
    """Start `alpha-panda up` in `workdir` (its data under `workdir/var`)."""
    env = alpha_panda_env(workdir, **settings)
    log = workdir / "up.log"
    args = [sys.executable, "-m", "ops.cli", "up"]
    for role in roles:
        args += ["--role", role]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=out, stderr=out)
    return AlphaPanda(proc, log, workdir / "var")


@pytest.fixture
def alpha_panda(tmp_path: Path) -> Iterator[Callable[..., AlphaPanda]]:
    """Start `alpha-panda up` (killed at teardown if a test left it running)."""
    started: list[AlphaPanda] = []

    def start(**settings: Any) -> AlphaPanda:
        workdir = tmp_path / f"run-{len(started)}"
        workdir.mkdir()
        app = launch(workdir, **settings)
        started.append(app)
        return app

    yield start
    for app in started:
        app.kill()


def run_alpha_panda_up(
    tmp_path: Path, *, timeout_s: float = 20, **settings: Any
) -> subprocess.CompletedProcess[str]:
    """`alpha-panda up` expected to refuse its configuration and exit on its own.

    NATS_URL points at a closed port, so a configuration wrongly accepted fails later
    with another exit code instead of trading somewhere.
    """
    env = alpha_panda_env(tmp_path, nats_url=f"nats://127.0.0.1:{free_port()}", **settings)
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "up", "--duration", "5"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


API_TOKEN = "a-token-of-sixteen-characters-or-more"
_REPO = Path(__file__).parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would point a command at another system."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALPHA_PANDA_", "NATS_")) and k not in _FOREIGN
    }
    env.update(extra)
    return env


def run_cli(
    workdir: Path, *args: str, timeout_s: float = 30, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command run as an operator would, from the directory of the running `up` (so it
    finds the embedded server and its credentials by itself)."""
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args], cwd=workdir,
        env=clean_env(**{"ALPHA_PANDA_API_TOKEN": API_TOKEN, **(env or {})}),
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip


def up_embedded(workdir: Path, duration_s: float = 60) -> AlphaPanda:
    """`alpha-panda up` with no NATS_URL: its own authenticated embedded server."""
    shutil.copy(_REPO / "strategies.yaml", workdir)
    log = workdir / "up.log"
    env = clean_env(
        ALPHA_PANDA_NATS_PORT="0", ALPHA_PANDA_WEB_ADDR=f"127.0.0.1:{free_port()}",
        ALPHA_PANDA_API_TOKEN=API_TOKEN,
    )  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "up", "--duration", str(duration_s)],
            cwd=workdir, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    return AlphaPanda(proc, log, workdir / "var")


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Bus]:
    bus = await Bus.connect(url, name="e2e-tests")
    try:
        yield bus
    finally:
        await bus.close()


async def eventually(
    probe: Callable[[], Awaitable[bool]],
    what: str,
    *,
    timeout_s: float = 20,
    app: AlphaPanda | None = None,
) -> None:
    """Poll `probe` until it holds; on timeout fail saying what was awaited (and the log)."""
    try:
        async with asyncio.timeout(timeout_s):
            while not await probe():
                if app is not None:
                    app.assert_running()
                await asyncio.sleep(0.1)
    except TimeoutError:
        log = f"\n--- alpha-panda up log ---\n{app.output()}" if app is not None else ""
        pytest.fail(f"timed out after {timeout_s:g}s waiting for {what}{log}")


async def subject_counts(bus: Bus, stream: str) -> dict[str, int]:
    """Messages per subject in a stream (empty when the stream does not exist yet)."""
    try:
        info = await bus.js.stream_info(stream, subjects_filter=">")
    except Exception:
        return {}
    return dict(info.state.subjects or {})


async def last_seq(bus: Bus, stream: str) -> int:
    try:
        return await bus.stream_last_seq(stream)
    except Exception:
        return 0


async def read_stream(
    bus: Bus, stream: str, subject: str = ">"
) -> list[tuple[str, Envelope[Event]]]:
    """Every message of a stream in stream order, as (subject, decoded envelope)."""
    return [(m.subject, decode(m.data)) async for m in bus.replay(stream, [subject], 1)]


E = TypeVar("E", bound=Event)


def payloads(cls: type[E], events: Iterable[Event]) -> list[E]:
    """The events, typed as `cls`: fails naming the first one that is not a `cls`."""
    typed: list[E] = []
    for event in events:
        assert isinstance(event, cls), f"expected {cls.__name__}, got {type(event).__name__}"
        typed.append(event)
    return typed


async def status(bus: Bus) -> dict[str, Any] | None:
    """The running tree as `alpha-panda status --json` shows it (None: nobody answered)."""
    try:
        reply = await bus.request(STATUS_SUBJECT, b"", timeout_s=1)
    except Exception:
        return None
    result: dict[str, Any] = json.loads(reply.data)
    return result


def find_actor(tree: dict[str, Any], name: str) -> dict[str, Any]:
    """The status of one child (actor or supervisor) of the tree, by name."""
    if tree.get("name") == name:
        return tree
    for child in tree.get("children", ()):
        try:
            return find_actor(child, name)
        except KeyError:
            continue
    raise KeyError(name)


async def tree_running(bus: Bus) -> bool:
    """Whether every supervisor has started all its children (ticks are not missed)."""
    body = await status(bus)
    return body is not None and body["tree"]["state"] == "running"
