"""Errors of the domain actors. Each names the problem and the fix, and carries `retriable`.

Configuration errors derive from the one `ConfigError` (schemas/errors.py): the command
line prints any of them and exits 2. Errors about an input (`InvalidTick`, `InvalidEvent`,
`IllegalTransition`) are not retriable, so the runtime dead-letters that input at once
instead of retrying it `max_deliver` times.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from schemas.enums import OrderStatus
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from actors.paper.orders import OrderTrigger

__all__ = [
    "InstrumentError",
    "ParamError",
    "StrategyConfigError",
    "RiskConfigError",
    "TickCsvError",
    "TickProblem",
    "InvalidTick",
    "InvalidEvent",
    "IllegalTransition",
    "LedgerError",
    "MigrationError",
]


class InstrumentError(ConfigError):
    """An instrument definition that cannot be used; the message names the row and the fix."""


class ParamError(ConfigError):
    """A strategy parameter out of range; names the parameter and the fix."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}; {fix}")
        self.field, self.problem, self.fix = field, problem, fix


class StrategyConfigError(ConfigError):
    """A strategy configuration that cannot be used; every attribute says where and why."""

    def __init__(
        self, source: str, strategy_id: str | None, field: str | None, problem: str, fix: str
    ) -> None:
        where = source + (f": strategy {strategy_id!r}" if strategy_id else "")
        where += f": {field}" if field else ""
        super().__init__(f"{where}: {problem}; fix: {fix}")
        self.source, self.strategy_id, self.field = source, strategy_id, field
        self.problem, self.fix = problem, fix


class RiskConfigError(ConfigError):
    """A limit that cannot work; `field` names it and the message says what to set."""

    def __init__(self, field: str, value: object, fix: str) -> None:
        self.field = field
        self.value = value
        super().__init__(
            f"risk limit {field} must be a finite number > 0, got {value}; set it to {fix}"
        )


class TickCsvError(ConfigError):
    """A tick file that cannot be read; names the file, line and column, and the fix."""

    def __init__(self, path: str, line: int, column: str | None, message: str) -> None:
        where = f"{path}:{line}" + (f": column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column = path, line, column


class TickProblem(StrEnum):
    """Why a tick was refused; stable codes for metrics and dead letters."""

    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    NON_FINITE_PRICE = "NON_FINITE_PRICE"
    NON_POSITIVE_PRICE = "NON_POSITIVE_PRICE"
    OFF_TICK_GRID = "OFF_TICK_GRID"
    CROSSED_BOOK = "CROSSED_BOOK"
    UNORDERED_DEPTH = "UNORDERED_DEPTH"
    SUBJECT_MISMATCH = "SUBJECT_MISMATCH"


class InvalidTick(ValueError):
    """A tick that must not reach strategies; `reason` is a `TickProblem` code."""

    retriable = False

    def __init__(self, reason: TickProblem, message: str, *, instrument_token: int = 0) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.instrument_token = instrument_token


class InvalidEvent(ValueError):
    """An event that no retry can make valid (a fill of no quantity): dead-lettered at once."""

    retriable = False


class IllegalTransition(Exception):
    """A trigger the order's current state does not allow; the order is left unchanged.

    `allowed` lists the triggers the state does allow (empty for a terminal state).
    """

    retriable = False

    def __init__(
        self,
        state: OrderStatus,
        trigger: OrderTrigger,
        allowed: Sequence[str],
        client_order_id: str = "",
    ) -> None:
        self.state = state
        self.trigger = trigger
        self.client_order_id = client_order_id
        listed = ", ".join(sorted(allowed)) or "nothing (terminal)"
        who = f"order {client_order_id!r}: " if client_order_id else ""
        super().__init__(
            f"{who}cannot {trigger.value} an order in state {state.value}; "
            f"{state.value} allows {listed}"
        )


class LedgerError(RuntimeError):
    """The ledger cannot be opened or written; the message says what to do."""

    retriable = False


class MigrationError(RuntimeError):
    """The migration files or the database's migration history are inconsistent."""

    retriable = False
