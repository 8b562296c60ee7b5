"""compose.yaml read as data, for the structural tests (no Docker engine is needed).

Interpolation follows Compose's rules for the forms compose.yaml uses: `${VAR}`,
`${VAR:-default}` and `${VAR:?message}`, and `$$` for a literal `$`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ROOT",
    "COMPOSE",
    "ENV_EXAMPLE",
    "compose",
    "services",
    "app_services",
    "role_services",
    "one_shot",
    "environment",
    "interpolate",
    "variables",
    "env_example",
    "up_roles",
]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    with COMPOSE.open() as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict), "compose.yaml is not a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose().get("services")
    assert isinstance(found, dict), "compose.yaml has no services"
    return found


def app_services() -> dict[str, dict[str, Any]]:
    """The services built from this repository's Dockerfile."""
    return {n: s for n, s in services().items() if "build" in s}


def one_shot(service: Mapping[str, Any]) -> bool:
    """A job that runs to completion (restart "no"), not a server."""
    return str(service.get("restart", "no")) == "no"


def up_roles(service: Mapping[str, Any]) -> list[str] | None:
    """The `--role`s of an `alpha-panda up` command; None when the command is not `up`."""
    command = service.get("command") or []
    if service.get("entrypoint") or not command or command[0] != "up":
        return None
    return [command[i + 1] for i, arg in enumerate(command) if arg == "--role"]


def role_services() -> dict[str, dict[str, Any]]:
    """The app services that run part of the supervision tree (`alpha-panda up`)."""
    return {n: s for n, s in app_services().items() if up_roles(s) is not None}


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's environment as compose.yaml spells it (uninterpolated)."""
    env = service.get("environment") or {}
    assert isinstance(env, dict), "write environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def variables(text: str) -> set[str]:
    """The names of the variables `text` interpolates."""
    return {m.group("name") for m in _VARIABLE.finditer(text.replace("$$", ""))}


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """`text` with its variables replaced as `docker compose` would; a `:?` variable that
    is unset or empty raises, as Compose refuses to start."""

    def one(m: re.Match[str]) -> str:
        value = values.get(m.group("name"), "")
        if value:
            return value
        if m.group("op") == ":?":
            raise KeyError(f"{m.group('name')}: {m.group('arg')}")
        return (m.group("arg") or "") if m.group("op") == ":-" else ""

    parts = text.split("$$")
    return "$".join(_VARIABLE.sub(one, part) for part in parts)


def env_example(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """NAME=value lines of an env file (comments and blank lines skipped)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: {line!r} is not NAME=value"
            out[name.strip()] = value.strip()
    return out
