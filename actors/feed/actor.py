"""The market feed actor: a mock GBM walk or a CSV replay, published to `market.ticks.<token>`.

Ticks are the high-rate flow, so they are published pipelined (a bounded window of
outstanding acknowledgements, failures retried with the same `Nats-Msg-Id`, which makes a
retry a no-op in the `MARKET` stream's duplicate window). Every tick is validated before
it leaves; an invalid one is counted and dead-lettered, never passed on.

The mock walk resumes where it stopped: the msg id of a tick is `tick:<seed>:<index>`, so on
start the feed reads the last one in `MARKET` and the last tick of every instrument and
continues the walk exactly (`GbmFeed.resume_from_ticks`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from actors.errors import InvalidTick
from actors.feed.gbm import GbmFeed
from actors.feed.replay import ReplayClock, read_ticks_csv
from actors.feed.validation import validate_tick
from actors.instruments import InstrumentBook
from actors.kite.feed_config import KiteFeedConfig
from schemas.envelope import HDR_MSG_ID, decode_as, encode, headers_for, new_envelope
from schemas.events import DeadLetter, MarketTick
from schemas.names import MARKET_STREAM, MARKET_TICKS_ALL, TICK_PREFIX, dlq_subject, tick_subject
from supervisors.actor import Actor, Input, Source
from supervisors.bus import Bus
from supervisors.errors import PublishFailed
from supervisors.telemetry import tracing

__all__ = ["FeedConfig", "MarketFeed"]

log = logging.getLogger(__name__)


class FeedConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`mode` is "mock", "replay" or "kite" (Kite's ticker, `actors.kite.feed`, with the
    knobs in `kite`); rates in ticks per second; 0 ticks means unlimited."""

    mode: str = "mock"
    seed: int = 42
    rate_per_s: float = 100.0
    max_ticks: int = 0
    replay_path: str = ""
    replay_speed: float = 1.0
    window: int = 512
    kite: KiteFeedConfig = msgspec.field(default_factory=KiteFeedConfig)

    def __post_init__(self) -> None:
        if self.mode not in ("mock", "replay", "kite"):
            raise ValueError(f"feed mode {self.mode!r}: use 'mock', 'replay:<file.csv>' or 'kite'")
        if self.mode == "replay" and not self.replay_path:
            raise ValueError("replay feed needs a CSV path: ALPHA_PANDA_FEED=replay:<file.csv>")
        if self.rate_per_s <= 0:
            raise ValueError(f"feed rate must be > 0 ticks/s, got {self.rate_per_s}")
        if self.max_ticks < 0:
            raise ValueError(f"feed max ticks must be >= 0 (0 = unlimited), got {self.max_ticks}")


def pacing_s(rate_per_s: float) -> float:
    """How long the mock walk sleeps when no tick is due.

    Not below 1 ms: uvloop's timers count whole milliseconds, and a shorter sleep rounds
    down to 0 and spins the event loop (every rate > 1,000/s did). Not above 5 ms, so a slow
    demo still moves smoothly. (Sleeping longer to publish more ticks per wake-up saves CPU,
    about 80 µs a wake-up on a 2-core EPYC guest, but sends ticks in bursts; measured on a
    loaded machine it did not clearly pay, so the pacing is as it was.)"""
    return max(0.001, min(0.005, 1 / rate_per_s))


class _Sent:
    """One batch on its way: what was sent, its acks, and its spans."""

    __slots__ = ("futures", "pending", "settled", "spans")

    def __init__(self) -> None:
        self.pending: list[tuple[str, bytes, dict[str, str]]] = []
        self.futures: list[tuple[str, asyncio.Future[Any]]] | None = None
        self.spans: list[Any] = []
        self.settled = False


class MarketFeed(Actor):
    name = "market-feed"

    def __init__(self, config: FeedConfig, book: InstrumentBook) -> None:
        self.config = config
        self.book = book
        self.published = 0
        self.invalid = 0
        self.retries = 0
        self.next_index = 0
        self.done = False
        self._started = time.monotonic()

    def inputs(self) -> Sequence[Input]:
        return (Source(self._run, name="feed"),)

    async def _run(self, bus: Bus) -> None:
        if self.config.mode == "replay":
            await self._replay(bus)
        else:
            await self._mock(bus)
        self.done = True
        log.info("feed finished after %d ticks (%d invalid)", self.published, self.invalid)

    # --- mock walk ---------------------------------------------------------------------------

    async def _resume_point(self, bus: Bus) -> GbmFeed:
        seed = self.config.seed
        instruments = list(self.book)
        try:
            last = await bus.js.get_last_msg(MARKET_STREAM.name, MARKET_TICKS_ALL)
        except Exception:
            last = None
        msg_id = (last.headers or {}).get(HDR_MSG_ID, "") if last is not None else ""
        prefix = f"tick:{seed}:"
        if not msg_id.startswith(prefix):
            return GbmFeed(instruments, seed)
        next_index = int(msg_id[len(prefix) :]) + 1
        last_ticks: dict[int, MarketTick] = {}
        for inst in instruments:
            try:
                raw = await bus.js.get_last_msg(
                    MARKET_STREAM.name, tick_subject(inst.instrument_token)
                )
            except Exception:
                continue
            if raw.data:
                last_ticks[inst.instrument_token] = decode_as(raw.data, MarketTick).data
        log.info("feed resumes the seed-%d walk at tick %d", seed, next_index)
        return GbmFeed.resume_from_ticks(instruments, seed, next_index, last_ticks)

    async def _mock(self, bus: Bus) -> None:
        feed = await self._resume_point(bus)
        self.next_index = feed.next_index
        seed, limit = self.config.seed, self.config.max_ticks
        prefix = f"tick:{seed}:"
        pause_s = pacing_s(self.config.rate_per_s)
        start = time.monotonic()
        sent_here = 0
        inflight: _Sent | None = None
        try:
            while not limit or feed.next_index < limit:
                due = int((time.monotonic() - start) * self.config.rate_per_s) - sent_here
                if due <= 0:
                    await asyncio.sleep(pause_s)
                    continue
                batch = []
                for _ in range(min(due, self.config.window)):
                    if limit and feed.next_index >= limit:
                        break
                    batch.append((prefix + str(feed.next_index), feed.next_tick(time.time_ns())))
                ready = await self._prepare(bus, batch)
                if inflight is not None:  # its acks came in while we slept: no suspension
                    await self._settle(bus, inflight)
                inflight = await self._send(bus, ready)
                sent_here += len(batch)
                self.next_index = feed.next_index
            if inflight is not None:
                await self._settle(bus, inflight)
        finally:  # stopped while a batch was out: count it if the stream has it all
            if inflight is not None and not inflight.settled:
                self._settled_already(inflight)

    # --- CSV replay --------------------------------------------------------------------------

    async def _replay(self, bus: Bus) -> None:
        path = Path(self.config.replay_path)
        data = await asyncio.to_thread(path.read_bytes)
        tag = hashlib.sha1(data).hexdigest()[:12]  # an id for msg ids, not security
        clock = ReplayClock(self.config.replay_speed)
        start = time.monotonic()
        batch: list[tuple[str, MarketTick]] = []
        rows: Iterator[tuple[int, MarketTick]] = read_ticks_csv(path)
        for line, (ts_ns, tick) in enumerate(rows, start=2):
            wait = clock.wait_s(ts_ns, time.monotonic() - start)
            if wait > 0 and batch:
                await self._publish(bus, batch)
                batch = []
            if wait > 0:
                await asyncio.sleep(wait)
            batch.append((f"replay:{tag}:{line}", tick))
            if len(batch) >= self.config.window:
                await self._publish(bus, batch)
                batch = []
        await self._publish(bus, batch)

    # --- publishing --------------------------------------------------------------------------

    async def _publish(self, bus: Bus, batch: list[tuple[str, MarketTick]]) -> None:
        """Publish a batch pipelined and wait for its acknowledgements."""
        await self._settle(bus, await self._send(bus, await self._prepare(bus, batch)))

    async def _prepare(self, bus: Bus, batch: list[tuple[str, MarketTick]]) -> _Sent:
        """Validate, wrap and encode; an invalid tick is dead-lettered here."""
        sent = _Sent()
        tracer = tracing.TRACER  # tracing on: each tick starts a trace
        book, name, pending = self.book, self.name, sent.pending
        for msg_id, tick in batch:
            try:
                validate_tick(tick, book)
            except InvalidTick as exc:
                await self._dead_letter(bus, tick, exc)
                continue
            token = tick.instrument_token
            subject, trace = tick_subject(token), ""
            if tracer is not None:
                sent.spans.append(span := tracing.producer_span(tracer, name, subject))
                trace = tracing.traceparent(span)  # "-00" when the sampler left it out
            env = new_envelope(tick, source=name, key=str(token), trace=trace)
            pending.append((subject, encode(env), headers_for(env, msg_id)))
        return sent

    async def _send(self, bus: Bus, sent: _Sent) -> _Sent:
        """Publish without waiting; a send that fails leaves the batch to `_settle` to resend."""
        futures: list[tuple[str, asyncio.Future[Any]]] = []
        try:
            for subject, payload, headers in sent.pending:
                futures.append((subject, await bus.publish_pipelined(subject, payload, headers)))
        except PublishFailed:
            for _, future in futures:
                future.cancel()  # frees its slot in the window; the resend has its own
            sent.futures = None
            return sent
        sent.futures = futures
        return sent

    async def _settle(self, bus: Bus, sent: _Sent) -> None:
        """Wait for a sent batch's acks; retry it whole with the same ids (dedup makes that
        safe) until the stream has it."""
        for attempt in range(5):
            try:
                if sent.futures is None and attempt:
                    await self._send(bus, sent)
                if sent.futures is None:
                    raise PublishFailed(sent.pending[0][0], ConnectionError("send failed"))
                await bus.wait_acks(sent.futures)
                break
            except PublishFailed:
                sent.futures = None
                self.retries += 1
                if attempt == 4:
                    raise
                await asyncio.sleep(0.1 * 2**attempt)
        self._done(sent)

    def _settled_already(self, sent: _Sent) -> None:
        futures = sent.futures or []
        if sent.futures is not None and all(
            f.done() and not f.cancelled() and f.exception() is None for _, f in futures
        ):
            self._done(sent)

    def _done(self, sent: _Sent) -> None:
        sent.settled = True
        for span in sent.spans:  # a tick's span lasts until the stream acknowledged it
            span.end()
        self.published += len(sent.pending)

    async def _dead_letter(self, bus: Bus, tick: MarketTick, exc: InvalidTick) -> None:
        self.invalid += 1
        subject = (
            tick_subject(tick.instrument_token) if tick.instrument_token > 0 else TICK_PREFIX + "0"
        )
        raw = encode(new_envelope(tick, source=self.name))
        letter = DeadLetter(
            original_subject=subject, error=str(exc), error_type=f"InvalidTick.{exc.reason}",
            actor=self.name, attempts=1, payload=raw.decode(),
        )  # fmt: skip
        await bus.publish(dlq_subject(subject), new_envelope(letter, source=self.name, key=subject))
        log.warning("feed: invalid tick dead-lettered: %s", exc)

    def stats(self) -> dict[str, Any]:
        elapsed = max(1e-9, time.monotonic() - self._started)
        return {
            "pipeline": {"ticks": self.published, "invalid_ticks": self.invalid},
            # the feed has no inputs: what it sent is its output (ticks, and the dead
            # letters of the ticks it refused), which the runtime's own count cannot see
            "outputs": self.published + self.invalid,
            "dead_lettered": self.invalid,
            "invalid": self.invalid,
            "ticks_per_s": round(self.published / elapsed, 1),
            "next_index": self.next_index,
            "publish_retries": self.retries,
            "done": self.done,
        }
