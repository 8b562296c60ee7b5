"""Trading state per broker, folded from `control.*` commands (pure)."""

from __future__ import annotations

from schemas.enums import TradingState
from schemas.events import ControlCommand
from schemas.names import ControlVerb

__all__ = ["apply_control"]

_STATE = {
    ControlVerb.HALT: TradingState.HALTED,
    ControlVerb.RESUME: TradingState.ACTIVE,
    ControlVerb.REDUCE: TradingState.REDUCING,
}


def apply_control(current: TradingState, command: ControlCommand, broker: str) -> TradingState:
    """The state after `command`: commands for another broker change nothing."""
    if command.broker not in (None, broker):
        return current
    return _STATE.get(command.verb, current)
