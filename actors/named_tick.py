"""The tick a signal names, as the judging actor itself reads it from `MARKET`.

A signal carries the MARKET stream sequence (`tick_seq`) and envelope id (`tick_id`) of
the tick its strategy computed on. Risk and execution never value or fill an order at the
prices a signal claims: they look that sequence up in the ticks they received themselves
(a small window per instrument), and when it is not there (the signal outran the tick, or
the actor restarted) they read the message at that sequence from the stream. Both paths
give the same message, so a replay or a restart takes the same decisions.

The tick must be a tick of the signal's instrument, carry the id the signal names, and be
stored in MARKET no later than the signal and no more than `max_age_ms` before it: both
times are the JetStream server's store times, which a publisher cannot set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from nats.js.errors import NotFoundError

from schemas.enums import RejectReason
from schemas.envelope import DecodeError, Envelope, decode_as
from schemas.events import MarketTick, TradingSignal
from schemas.names import TICK_PREFIX, tick_subject
from supervisors.errors import Crash

if TYPE_CHECKING:
    from supervisors.bus import Bus

__all__ = ["NamedTick", "TickRefusal", "TickWindow", "NamedTicks", "WINDOW_TICKS"]

#: ticks kept per instrument; a signal arrives a few ticks after its own, and a miss only
#: costs one read from the stream
WINDOW_TICKS = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class NamedTick(msgspec.Struct, frozen=True, kw_only=True):
    """One tick as MARKET holds it: sequence, envelope id and time, and when it was stored."""

    seq: int
    tick_id: str
    ts: int  # the tick envelope's event time (ns)
    stored_us: int  # the server's store time (µs: what a stream read reports exactly)
    tick: MarketTick


class TickRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why no tick prices a signal: `UNKNOWN_TICK` or `STALE_TICK`, with the detail."""

    reason: RejectReason
    detail: str


class TickWindow:
    """The last `size` ticks received per instrument, by MARKET sequence."""

    __slots__ = ("_by_token", "size")

    def __init__(self, size: int = WINDOW_TICKS) -> None:
        if size < 1:
            raise ValueError(f"a tick window holds at least 1 tick per instrument, got {size}")
        self.size = size
        self._by_token: dict[int, dict[int, NamedTick]] = {}

    def add(self, named: NamedTick) -> None:
        ticks = self._by_token.setdefault(named.tick.instrument_token, {})
        ticks[named.seq] = named
        if len(ticks) > self.size:
            del ticks[next(iter(ticks))]  # the oldest: ticks arrive in stream order

    def get(self, instrument_token: int, seq: int) -> NamedTick | None:
        ticks = self._by_token.get(instrument_token)
        return ticks.get(seq) if ticks else None

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_token.values())


def _unknown(detail: str) -> TickRefusal:
    return TickRefusal(reason=RejectReason.UNKNOWN_TICK, detail=detail)


class NamedTicks:
    """Resolves the tick a signal names: this actor's window first, then MARKET by sequence.

    `bus` is set by the owning actor once it is connected (`on_start`); without it only
    the window answers. `max_age_ms` bounds how long before the signal the tick was stored.
    """

    def __init__(
        self, max_age_ms: int, *, window: int = WINDOW_TICKS, stream: str = "MARKET"
    ) -> None:
        if max_age_ms <= 0:
            raise ValueError(f"max_signal_tick_age_ms must be > 0, got {max_age_ms}")
        self.max_age_ms = max_age_ms
        self.stream = stream
        self.window = TickWindow(window)
        self.bus: Bus | None = None
        self.reads = 0  # signals whose tick was read from the stream, not the window

    def received(self, subject: str, seq: int, env: Envelope[MarketTick], stored_ns: int) -> None:
        """A tick this actor received from MARKET; one whose body names another instrument
        than its subject is not a tick of either and is not kept."""
        if subject[len(TICK_PREFIX) :] != str(env.data.instrument_token):
            return
        self.window.add(
            NamedTick(seq=seq, tick_id=env.id, ts=env.ts, stored_us=stored_ns // 1000,
                      tick=env.data)
        )  # fmt: skip

    async def named_by(self, signal: TradingSignal, stored_ns: int) -> NamedTick | TickRefusal:
        """The tick `signal` names, or why there is none; `stored_ns` is when the stream
        stored the message that carries the signal (the server's clock)."""
        token, seq = signal.instrument_token, signal.tick_seq
        if seq <= 0:
            return _unknown(
                "the signal names no tick (tick_seq 0): a signal must carry the MARKET "
                "sequence of the tick it was computed on"
            )
        named = self.window.get(token, seq)
        if named is None:
            found = await self._read(seq, token)
            if isinstance(found, TickRefusal):
                return found
            named = found
        if signal.tick_id and signal.tick_id != named.tick_id:
            return _unknown(
                f"MARKET sequence {seq} holds tick {named.tick_id}, not {signal.tick_id}"
            )
        age_us = stored_ns // 1000 - named.stored_us
        if age_us < 0:
            return _unknown(f"tick {seq} was stored after the signal: it cannot be its tick")
        if age_us > self.max_age_ms * 1000:
            return TickRefusal(
                reason=RejectReason.STALE_TICK,
                detail=f"tick {seq} is {age_us // 1000} ms older than the signal "
                f"(max_signal_tick_age_ms {self.max_age_ms})",
            )
        return named

    async def _read(self, seq: int, token: int) -> NamedTick | TickRefusal:
        if self.bus is None:
            raise Crash("no connection to read MARKET with: set NamedTicks.bus in on_start")
        try:
            raw = await self.bus.js.get_msg(self.stream, seq=seq)
        except NotFoundError:
            return _unknown(f"{self.stream} holds no message at sequence {seq}")
        except Exception as exc:  # the server did not answer: retry the input, never guess
            raise Crash(
                f"cannot read {self.stream} sequence {seq} ({type(exc).__name__}: {exc}); "
                "the input is handled again once NATS answers"
            ) from exc
        self.reads += 1
        expected = tick_subject(token)
        if raw.subject != expected:
            return _unknown(
                f"{self.stream} sequence {seq} is {raw.subject}, not a tick of instrument {token}"
            )
        try:
            env = decode_as(raw.data or b"", MarketTick)
        except DecodeError as exc:
            return _unknown(f"{self.stream} sequence {seq} is not a market tick ({exc})")
        if env.data.instrument_token != token or raw.time is None:
            return _unknown(f"{self.stream} sequence {seq} is not a tick of instrument {token}")
        stored_us = (raw.time - _EPOCH) // _MICROSECOND
        return NamedTick(seq=seq, tick_id=env.id, ts=env.ts, stored_us=stored_us, tick=env.data)
