"""Permission violations the server reports on a connection: counted, logged, audited.

nats-server answers a publish or subscribe outside a user's permissions with
`-ERR 'Permissions Violation for Publish to "<subject>"'` and keeps the connection; nats-py
hands that to the error callback, lower-cased (so is the subject recorded here). Each one
is counted (status shows the figure) and recorded on `audit.security` as an AuditEvent, at
most once per subject every few seconds, so a looping offender cannot flood the audit trail.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from schemas.envelope import new_envelope
from schemas.events import AuditEvent
from schemas.names import audit_subject

if TYPE_CHECKING:
    from supervisors.bus import Bus

__all__ = ["SecurityMonitor", "parse_violation"]

log = logging.getLogger(__name__)

_PATTERN = re.compile(
    r"permissions violation for (publish|subscription) to \"?([^\"'\s]+)", re.IGNORECASE
)
_AUDIT_EVERY_S = 5.0


def parse_violation(message: str) -> tuple[str, str] | None:
    """("publish" | "subscribe", subject) of a server's permissions error, else None."""
    m = _PATTERN.search(message)
    if m is None:
        return None
    return ("publish" if m.group(1).lower() == "publish" else "subscribe"), m.group(2)


class SecurityMonitor:
    """The violations of one connection (`Bus.security`)."""

    def __init__(self, bus: Bus, user: str) -> None:
        self._bus = bus
        self.user = user
        self.violations = 0
        self.audited = 0
        self.last: dict[str, Any] | None = None
        # (kind, subject) of the latest violations; nats-py lower-cases the server's text
        self.recent: deque[tuple[str, str]] = deque(maxlen=1000)
        self._last_audit: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def is_violation(exc: BaseException) -> bool:
        return "permissions violation" in str(exc).lower()

    def record(self, message: str) -> None:
        parsed = parse_violation(message) or ("unknown", message)
        kind, subject = parsed
        self.violations += 1
        self.last = {"kind": kind, "subject": subject, "at": time.time()}
        self.recent.append((kind, subject))
        log.error("NATS refused %s to %s for user %s: outside its permissions "
                  "(see docs/security.md)", kind, subject, self.user)  # fmt: skip
        now = time.monotonic()
        if subject == audit_subject("security") or (
            now - self._last_audit.get(subject, -_AUDIT_EVERY_S) < _AUDIT_EVERY_S
        ):
            return
        self._last_audit[subject] = now
        task = asyncio.get_running_loop().create_task(
            self._audit(kind, subject), name=f"{audit_subject('security')}:{subject}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _audit(self, kind: str, subject: str) -> None:
        event = AuditEvent(
            kind="security",
            actor=self.user,
            detail={"violation": kind, "subject": subject, "user": self.user,
                    "connection": str(self._bus.nc.options.get("name") or "")},
        )  # fmt: skip
        env = new_envelope(event, source=f"nats:{self.user}", key=self.user)
        try:
            await self._bus.publish(audit_subject("security"), env)
            self.audited += 1
        except Exception as exc:  # the server gone or no AUDIT stream: the count remains
            log.warning("could not record a permission violation on audit.security: %s", exc)

    def status(self) -> dict[str, Any]:
        return {"user": self.user, "violations": self.violations, "last_violation": self.last}

    async def close(self) -> None:
        """Give audits in flight a moment to be stored, then cancel what is left."""
        tasks, self._tasks = set(self._tasks), set()
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=2.0)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
