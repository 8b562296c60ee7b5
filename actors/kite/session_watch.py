"""The zerodha session watcher: halt zerodha trading before Kite's token lapses or once Kite
rejects it, and say why and what to run.

Kite expires every access token at 06:00 IST (or on logout); an order sent after that is
answered `TokenException`. Trading blind into that is worse than stopping: the watcher
publishes `control.halt.zerodha` (a `ControlCommand`, the same halt `alpha-panda halt
--broker zerodha` stores) a few minutes before the expiry (`ALPHA_PANDA_KITE_HALT_BEFORE_MIN`,
default 5) and as soon as any zerodha component reports a `TokenException`. Only zerodha
halts: paper's state is untouched.

- `SessionClock` is the pure decision: the expiry, the margin and the time in, a halt
  reason (or None) out.
- `SessionWatch` is the actor: a timer every `check_s` asks the clock, probes Kite's
  `profile()` every `probe_s` (off the loop, short timeout), and emits the halt once per
  session. A new login (a different token in the session file) re-arms it; trading
  resumes only when a person runs `alpha-panda resume --broker zerodha`.
- The hook for other zerodha components that meet a `TokenException`:
  `token_error_halt(detail)` gives the subject and command to `ctx.emit` from a handler;
  `publish_token_halt(bus, detail)` publishes it from a task or thread-side callback
  (through the loop); `SessionWatch.report_token_error(detail)` when holding the watcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from actors.kite.session import KiteSession, kite_client, load_session
from actors.kite.session_store import IST
from schemas.envelope import new_envelope
from schemas.errors import ConfigError
from schemas.events import ControlCommand
from schemas.names import Broker, ControlVerb, control_subject
from supervisors.actor import Actor, Context, Input, Timer

if TYPE_CHECKING:
    from ops.settings import Settings
    from supervisors.bus import Bus

__all__ = [
    "BROKER",
    "LOGIN_FIX",
    "SessionClock",
    "SessionWatch",
    "expiry_reason",
    "token_error_halt",
    "publish_token_halt",
]

log = logging.getLogger(__name__)

BROKER: Broker = "zerodha"
LOGIN_FIX = "run `alpha-panda zerodha login`, then `alpha-panda resume --broker zerodha`"
WATCHER = f"session-watch-{BROKER}"


def expiry_reason(expires_at: datetime) -> str:
    local = expires_at.astimezone(IST)
    return f"zerodha session expires at {local:%H:%M} IST on {local:%Y-%m-%d}; {LOGIN_FIX}"


def _token_reason(detail: str) -> str:
    return f"Kite rejected the zerodha access token (TokenException: {detail}); {LOGIN_FIX}"


def token_error_halt(detail: str) -> tuple[str, ControlCommand]:
    """The halt to emit when a zerodha component meets a TokenException (`detail`: where,
    e.g. "place_order"; never the token). `ctx.emit(subject, command, key="zerodha",
    broker="zerodha")` from a handler."""
    command = ControlCommand(
        verb=ControlVerb.HALT, broker=BROKER, reason=_token_reason(detail), requested_by=WATCHER
    )
    return control_subject(ControlVerb.HALT, BROKER), command


async def publish_token_halt(bus: Bus, detail: str, *, source: str = WATCHER) -> None:
    """Publish the TokenException halt now (outside a handler: a worker task, a callback)."""
    subject, command = token_error_halt(detail)
    env = new_envelope(command, source=source, broker=BROKER, key=BROKER)
    await bus.publish(subject, env)
    log.error("broker %s halted: %s", BROKER, command.reason)


@dataclass(frozen=True, slots=True)
class SessionClock:
    """When to halt: `margin` before `expires_at` (None: a token of unknown expiry, e.g.
    KITE_ACCESS_TOKEN from the environment; only Kite's TokenException tells then)."""

    expires_at: datetime | None
    margin: timedelta = timedelta(minutes=5)

    @property
    def halt_at(self) -> datetime | None:
        return None if self.expires_at is None else self.expires_at - self.margin

    def check(self, now: datetime) -> str | None:
        """The halt reason once `now` is at or past `halt_at`, else None."""
        halt_at = self.halt_at
        if halt_at is None or self.expires_at is None or now < halt_at:
            return None
        return expiry_reason(self.expires_at)


class SessionWatch(Actor):
    """Halts zerodha before its session lapses and on a TokenException (see the module)."""

    broker = BROKER
    name = WATCHER

    def __init__(
        self,
        settings: Settings,
        *,
        check_s: float = 5.0,
        probe_s: float = 60.0,
        probe_timeout_s: float = 5.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.check_s, self.probe_s, self.probe_timeout_s = check_s, probe_s, probe_timeout_s
        self.now = now
        self.margin = timedelta(minutes=settings.kite_halt_before_min)
        self.session: KiteSession | None = None
        self.problem: str | None = None  # why no session could be loaded
        self.halted: str | None = None  # the reason of the halt sent for this session
        self.pending: list[str] = []  # TokenExceptions reported since the last tick
        self.last_probe: datetime | None = None
        self.probe_failures = 0

    def inputs(self) -> Sequence[Input]:
        return (Timer(self.check_s, self._tick, name="session-clock"),)

    async def on_start(self, bus: Bus) -> None:
        self._reload()

    def report_token_error(self, detail: str) -> None:
        """A zerodha component met a TokenException: the next tick halts (once)."""
        self.pending.append(detail)

    def _reload(self) -> None:
        """Read the session again: a new login (another token) re-arms the halt."""
        try:
            fresh = load_session(self.settings, now=self.now())
        except ConfigError as exc:
            self.problem = str(exc)
            return
        self.problem = None
        old = self.session
        if (
            old is None
            or old.access_token.get_secret_value() != fresh.access_token.get_secret_value()
        ):
            if old is not None and self.halted is not None:
                log.info("a new zerodha session (%s); the halt stands until a resume", fresh)
            self.session, self.halted, self.last_probe = fresh, None, None

    def decide(self, now: datetime) -> str | None:
        """Why to halt now (None: keep trading). Pure but for the state of this watcher."""
        if self.pending:
            return _token_reason(self.pending[-1])
        if self.session is None:
            if self.problem:
                return f"{self.problem}; then `alpha-panda resume --broker zerodha`"
            return f"no zerodha session; {LOGIN_FIX}"
        return SessionClock(self.session.expires_at, self.margin).check(now)

    async def _probe(self, now: datetime) -> None:
        """One profile() call off the loop; a TokenException becomes a pending halt."""
        from kiteconnect import exceptions as kex

        if self.session is None or self.halted is not None:
            return
        if self.last_probe is not None and now - self.last_probe < timedelta(seconds=self.probe_s):
            return
        self.last_probe = now
        kite = kite_client(self.session, timeout_s=self.probe_timeout_s)
        try:
            await asyncio.to_thread(kite.profile)
        except kex.TokenException:
            self.report_token_error("profile")
        except Exception as exc:  # Kite unreachable: not a session problem; counted, shown
            self.probe_failures += 1
            log.warning("zerodha session probe failed: %s", type(exc).__name__)

    async def _tick(self, ctx: Context) -> None:
        now = self.now()
        if self.session is None or self.halted is not None:
            self._reload()
        await self._probe(now)
        reason = self.decide(now)
        self.pending.clear()
        if reason is None or self.halted is not None:
            return
        self.halted = reason
        command = ControlCommand(
            verb=ControlVerb.HALT, broker=BROKER, reason=reason, requested_by=WATCHER
        )
        ctx.emit(control_subject(ControlVerb.HALT, BROKER), command, key=BROKER)
        log.error("broker %s halted: %s", BROKER, reason)

    def stats(self) -> dict[str, Any]:
        s = self.session
        return {
            "session": {
                "user_id": s.user_id if s else None,
                "source": s.source if s else None,
                "expires_at": s.expires_at.isoformat() if s and s.expires_at else None,
                "halt_at": (s.expires_at - self.margin).isoformat() if s and s.expires_at else None,
                "halted": self.halted,
                "problem": self.problem,
                "probe_failures": self.probe_failures,
            }
        }
