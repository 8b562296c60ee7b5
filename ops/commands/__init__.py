"""Command groups of the CLI; each module has `register(subparsers)`."""

from __future__ import annotations

from types import ModuleType

from bridge import cli as bridge_cli
from bridge import schemas_cli
from ops.commands import bench, control, ops_cmd, portfolio, status, up

__all__ = ["COMMAND_MODULES"]

COMMAND_MODULES: list[ModuleType] = [
    up,
    status,
    portfolio,
    control,
    ops_cmd,
    bridge_cli,
    schemas_cli,
    bench,
]
