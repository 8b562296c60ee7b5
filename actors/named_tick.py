"""The tick a signal names, as the judging actor itself reads it from `MARKET`.

A signal carries the MARKET stream sequence (`tick_seq`) and envelope id (`tick_id`) of
the tick its strategy computed on. Risk and execution never value or fill an order at the
prices a signal claims: they look that sequence up in the ticks they received themselves
(a small window per instrument, kept as the raw messages their consumer delivered, decoded
only when a signal names one), and when it is not there (the signal outran the tick, or the
actor restarted) they read the message at that sequence from the stream. Both paths give
the same message and go through the same checks, so a replay or a restart decides the same.

The tick must be a tick of the signal's instrument, carry the id the signal names, and be
stored in MARKET no later than the signal and no more than `max_age_ms` before it: both
times are the JetStream server's store times, which a publisher cannot set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from schemas.enums import RejectReason
from schemas.envelope import decode_as
from schemas.errors import DecodeError
from schemas.events import MarketTick, TradingSignal
from schemas.names import MARKET_STREAM, TICK_PREFIX, tick_subject
from supervisors.acks import parse_ack_subject
from supervisors.errors import Crash

if TYPE_CHECKING:
    from supervisors.bus import Bus

__all__ = ["NamedTick", "TickRefusal", "TickWindow", "NamedTicks", "WINDOW_TICKS"]

#: ticks kept per instrument; a signal arrives a few ticks after its own, and a miss only
#: costs one read from the stream
WINDOW_TICKS = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class NamedTick(msgspec.Struct, frozen=True, kw_only=True):
    """One tick as MARKET holds it: sequence, envelope id and time, and when it was stored."""

    seq: int
    tick_id: str
    ts: int  # the tick envelope's event time (ns)
    stored_ms: int  # the server's store time, as a consumer's ack subject reports it
    tick: MarketTick


class TickRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why no tick prices a signal: `UNKNOWN_TICK` or `STALE_TICK`, with the detail."""

    reason: RejectReason
    detail: str


class _Raw(msgspec.Struct, frozen=True):
    """A message as the consumer delivered it; decoded only if a signal names it."""

    subject: str
    data: bytes
    stored_ms: int


class TickWindow:
    """The last `size` messages received per instrument token, by MARKET sequence."""

    __slots__ = ("_by_token", "size")

    def __init__(self, size: int = WINDOW_TICKS) -> None:
        if size < 1:
            raise ValueError(f"a tick window holds at least 1 tick per instrument, got {size}")
        self.size = size
        self._by_token: dict[str, dict[int, _Raw]] = {}

    def add(self, token: str, seq: int, raw: _Raw) -> None:
        ticks = self._by_token.get(token)
        if ticks is None:
            ticks = self._by_token[token] = {}
        ticks[seq] = raw
        if len(ticks) > self.size:
            del ticks[next(iter(ticks))]  # the oldest: a consumer delivers in stream order

    def get(self, token: str, seq: int) -> _Raw | None:
        ticks = self._by_token.get(token)
        return ticks.get(seq) if ticks else None

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_token.values())


def _unknown(detail: str) -> TickRefusal:
    return TickRefusal(reason=RejectReason.UNKNOWN_TICK, detail=detail)


class NamedTicks:
    """Resolves the tick a signal names: this actor's window first, then MARKET by sequence.

    `see` is the tap of the actor's ordered consumer on MARKET (`Ordered(tap=...)`): it
    keeps the messages of `tokens` (all, when None). `bus` is set by the owning actor once
    it is connected (`on_start`); without it only the window answers. `max_age_ms` bounds
    how long before the signal the tick was stored.
    """

    def __init__(
        self,
        max_age_ms: int,
        *,
        tokens: frozenset[int] | None = None,
        window: int = WINDOW_TICKS,
        stream: str = MARKET_STREAM.name,
    ) -> None:
        if max_age_ms <= 0:
            raise ValueError(f"max_signal_tick_age_ms must be > 0, got {max_age_ms}")
        self.max_age_ms = max_age_ms
        self.stream = stream
        self.window = TickWindow(window)
        self._tokens = None if tokens is None else {str(t) for t in tokens}
        self.bus: Bus | None = None
        self.reads = 0  # ticks read from the stream because the window did not hold them

    def see(self, msg: Msg) -> None:
        """A message this actor's consumer delivered from MARKET (no decoding here: it runs
        for every tick, so it reads only the subject, then the reply subject of a kept one)."""
        token = self._kept(msg.subject)
        if token is not None:
            try:
                meta = parse_ack_subject(msg.reply)
            except ValueError:  # not from a consumer: nothing says where it is stored
                return
            self.window.add(token, meta.stream_seq, _Raw(msg.subject, msg.data, meta.ts_ms))

    def remember(self, subject: str, seq: int, data: bytes, stored_ms: int) -> None:
        """`see` for a message known by its parts."""
        token = self._kept(subject)
        if token is not None:
            self.window.add(token, seq, _Raw(subject, data, stored_ms))

    def _kept(self, subject: str) -> str | None:
        """The token of a tick subject this window keeps, else None."""
        if not subject.startswith(TICK_PREFIX):
            return None
        token = subject[len(TICK_PREFIX) :]
        return token if self._tokens is None or token in self._tokens else None

    async def named_by(self, signal: TradingSignal, stored_ms: int) -> NamedTick | TickRefusal:
        """The tick `signal` names, or why there is none; `stored_ms` is when the stream
        stored the message that carries the signal (the server's clock, ms since the epoch)."""
        token, seq = signal.instrument_token, signal.tick_seq
        if seq <= 0:
            return _unknown(
                "the signal names no tick (tick_seq 0): a signal must carry the MARKET "
                "sequence of the tick it was computed on"
            )
        raw = self.window.get(str(token), seq)
        if raw is None:
            found = await self._read(seq)
            if isinstance(found, TickRefusal):
                return found
            raw = found
        named = self._as_tick(seq, raw, token)
        if isinstance(named, TickRefusal):
            return named
        if signal.tick_id and signal.tick_id != named.tick_id:
            return _unknown(
                f"{self.stream} sequence {seq} holds tick {named.tick_id}, not {signal.tick_id}"
            )
        age_ms = stored_ms - named.stored_ms
        if age_ms < 0:
            return _unknown(f"tick {seq} was stored after the signal: it cannot be its tick")
        if age_ms > self.max_age_ms:
            return TickRefusal(
                reason=RejectReason.STALE_TICK,
                detail=f"tick {seq} is {age_ms} ms older than the signal "
                f"(max_signal_tick_age_ms {self.max_age_ms})",
            )
        return named

    def _as_tick(self, seq: int, raw: _Raw, token: int) -> NamedTick | TickRefusal:
        """The checks every tick passes, from the window or from the stream alike."""
        if raw.subject != tick_subject(token):
            return _unknown(
                f"{self.stream} sequence {seq} is {raw.subject}, not a tick of instrument {token}"
            )
        try:
            env = decode_as(raw.data, MarketTick)
        except DecodeError as exc:
            return _unknown(f"{self.stream} sequence {seq} is not a market tick ({exc})")
        if env.data.instrument_token != token:
            return _unknown(
                f"{self.stream} sequence {seq} is published for instrument {token} but its "
                f"body names {env.data.instrument_token}"
            )
        return NamedTick(seq=seq, tick_id=env.id, ts=env.ts, stored_ms=raw.stored_ms, tick=env.data)

    async def _read(self, seq: int) -> _Raw | TickRefusal:
        if self.bus is None:
            raise Crash("no connection to read MARKET with: set NamedTicks.bus in on_start")
        try:
            msg = await self.bus.js.get_msg(self.stream, seq=seq)
        except NotFoundError:
            return _unknown(f"{self.stream} holds no message at sequence {seq}")
        except Exception as exc:  # the server did not answer: retry the input, never guess
            raise Crash(
                f"cannot read {self.stream} sequence {seq} ({type(exc).__name__}: {exc}); "
                "the input is handled again once NATS answers"
            ) from exc
        self.reads += 1
        if msg.time is None or msg.subject is None:
            return _unknown(f"{self.stream} sequence {seq} has no subject or store time")
        return _Raw(msg.subject, msg.data or b"", (msg.time - _EPOCH) // _MILLISECOND)
