"""Command groups of the CLI; each module has `register(subparsers)`."""

from __future__ import annotations

from types import ModuleType

from ops.commands import (
    backtest,
    bench,
    bridge_cmd,
    control,
    data,
    dlq,
    ops_cmd,
    paper_cmd,
    portfolio,
    restart,
    schemas_cmd,
    sim,
    status,
    up,
    zerodha,
)

__all__ = ["COMMAND_MODULES"]

COMMAND_MODULES: list[ModuleType] = [
    up,
    status,
    portfolio,
    control,
    restart,
    ops_cmd,
    bridge_cmd,
    schemas_cmd,
    bench,
    backtest,
    data,
    dlq,
    paper_cmd,
    sim,
    zerodha,
]
