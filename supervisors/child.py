"""What a supervisor supervises: a child process (an actor runner or a nested supervisor).

A child is created fresh by its spec's factory on every (re)start, as an OTP start
function would, so no state leaks from a crashed instance into its successor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from supervisors.status import StatusNode

__all__ = ["Child", "ChildSpec", "Restart", "Ready"]

Ready = Callable[[], None]


class Child(Protocol):
    """A long-running process with a readiness signal and a graceful stop."""

    name: str

    async def run(self, ready: Ready) -> None:
        """Run until stopped (return) or failed (raise); call `ready()` once started."""

    def request_stop(self) -> None:
        """Begin a graceful stop; `run` returns when in-flight work is done."""

    def status(self) -> StatusNode | dict[str, Any]:
        """A supervisor's subtree; any other child's own figures, JSON-ready."""


class Restart(StrEnum):
    """OTP restart types."""

    PERMANENT = "permanent"  # always restarted
    TRANSIENT = "transient"  # restarted after an abnormal exit, unless its error is not
    # retriable (`is_retriable`): the child gave up on purpose (OTP's `{shutdown, Reason}`)
    TEMPORARY = "temporary"  # never restarted


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start one child: the tree is a list of these (STYLE 4)."""

    name: str
    start: Callable[[], Child]
    restart: Restart = Restart.PERMANENT
    shutdown_s: float = 5.0
    start_timeout_s: float = 30.0
    is_supervisor: bool = False
