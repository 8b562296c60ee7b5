"""The Kite market feed: the official `KiteTicker`, sharded, watched, bridged into asyncio.

Up to 3 connections of up to 3,000 instruments (`feed_config.plan_shards`) run on the
process's one Twisted reactor (`feed_reactor`). Their frames are decoded in the reactor
thread (`feed_frames`: exact Decimal prices) and cross into the loop through one bounded
queue (`feed_queue`: a full queue drops and counts, never grows). From there ticks go out as
the mock feed's do (`MarketFeed._publish`: validated, invalid ones dead-lettered, pipelined
to `market.ticks.<token>` with a dedup id `kite:<run>:<n>` that makes a retry a no-op).

A watchdog aborts a connection that has sent nothing, not even a heartbeat, for `stall_s`;
KiteTicker then reconnects with backoff and resubscribes in the same mode. A dropped
connection takes the same path. Order updates (text frames) go to `order_update_listeners`.
Live ticks have no resume point: a restarted feed starts from the market's present.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from actors.feed.actor import FeedConfig, MarketFeed
from actors.instruments import InstrumentBook
from actors.kite.feed_config import plan_shards
from actors.kite.feed_frames import BadPacket
from actors.kite.feed_queue import BridgeQueue
from actors.kite.feed_reactor import call_in_reactor
from actors.kite.feed_shard import Item, Shard, ShardSettings
from actors.kite.session import KiteSession
from schemas.envelope import new_envelope
from schemas.events import DeadLetter, MarketTick
from schemas.names import TICK_PREFIX, dlq_subject, tick_subject
from supervisors.actor import Input, Source
from supervisors.bus import Bus

__all__ = ["KiteFeed", "OrderUpdateListener", "ORDER_UPDATE_LISTENERS"]

log = logging.getLogger(__name__)

OrderUpdateListener = Callable[[dict[str, Any]], None]
#: Process-wide listeners of Kite order updates heard on the feed's connections. Called in
#: the reactor thread with KiteTicker's parsed `data` dict: be quick and thread-safe (hand
#: it to your loop with `loop.call_soon_threadsafe`). Every connection delivers each update,
#: so listeners must deduplicate (by order id and status, as Kite may repeat them anyway).
ORDER_UPDATE_LISTENERS: list[OrderUpdateListener] = []
_CLOSE_WAIT_S = 3.0


class KiteFeed(MarketFeed):
    """The `market-feed` actor on Kite's ticker; `tokens` are the instruments to subscribe."""

    def __init__(
        self,
        config: FeedConfig,
        book: InstrumentBook,
        session: KiteSession,
        tokens: Sequence[int],
    ) -> None:
        super().__init__(config, book)
        self.kite = config.kite
        self.session = session
        self.plan = plan_shards(tokens, self.kite.max_per_connection)
        self.shards: list[Shard] = []
        self.queue: BridgeQueue[Item] | None = None
        self.stalls = 0
        self.bad_packets = 0
        self.order_update_listeners: list[OrderUpdateListener] = []
        self._run_id = time.time_ns()
        self._seq = 0

    def inputs(self) -> Sequence[Input]:
        return (Source(self._run, name="kite-feed"), Source(self._watchdog, name="kite-watchdog"))

    # --- connections -------------------------------------------------------------------------

    async def _run(self, bus: Bus) -> None:
        self.queue = BridgeQueue(self.kite.queue, asyncio.get_running_loop())
        settings = ShardSettings(
            mode=self.kite.mode, backoff_min_s=self.kite.backoff_min_s,
            backoff_max_s=self.kite.backoff_max_s, connect_timeout_s=self.kite.connect_timeout_s,
        )  # fmt: skip
        self.shards = [
            Shard(i, self.session, tokens, settings, self.queue, self._order_update)
            for i, tokens in enumerate(self.plan)
        ]
        for shard in self.shards:
            call_in_reactor(shard.start)
        try:
            while True:
                await self._forward(bus, await self.queue.get_batch(self.config.window))
        finally:
            await self._close()

    async def _close(self) -> None:
        for shard in self.shards:
            call_in_reactor(shard.stop)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_WAIT_S):
                while not all(s.closed for s in self.shards):  # noqa: ASYNC110 - set by the reactor thread
                    await asyncio.sleep(0.02)
        self.done = True

    async def _watchdog(self, bus: Bus) -> None:
        """Abort any open connection silent for `stall_s`; checked a few times per interval."""
        stall_s = self.kite.stall_s
        while True:
            await asyncio.sleep(min(0.5, stall_s / 4))
            now = time.monotonic()
            for shard in self.shards:
                if shard.open and not shard.stopping and now - shard.last_frame > stall_s:
                    self.stalls += 1
                    shard.last_frame = now  # one verdict per silence, not one per check
                    log.warning("kite feed shard %d silent for %.1f s: reconnecting",
                                shard.index, stall_s)  # fmt: skip
                    call_in_reactor(shard.force_reconnect, shard.generation)

    def _order_update(self, data: dict[str, Any]) -> None:
        for listener in (*ORDER_UPDATE_LISTENERS, *self.order_update_listeners):
            listener(data)

    # --- publishing --------------------------------------------------------------------------

    async def _forward(self, bus: Bus, items: list[Item]) -> None:
        batch: list[tuple[str, MarketTick]] = []
        for item in items:
            if isinstance(item, BadPacket):
                await self._dead_letter_packet(bus, item)
                continue
            inst = self.book.get(item.instrument_token)
            if inst is not None and item.symbol is None:
                item = msgspec.structs.replace(item, symbol=inst.tradingsymbol)
            self._seq += 1
            batch.append((f"kite:{self._run_id}:{self._seq}", item))
        if batch:
            await self._publish(bus, batch)

    async def _dead_letter_packet(self, bus: Bus, bad: BadPacket) -> None:
        self.bad_packets += 1
        subject = tick_subject(bad.token) if bad.token > 0 else TICK_PREFIX + "0"
        letter = DeadLetter(
            original_subject=subject, error=bad.error, error_type="PacketError",
            actor=self.name, attempts=1, payload=bad.raw.hex(),
        )  # fmt: skip
        await bus.publish(dlq_subject(subject), new_envelope(letter, source=self.name, key=subject))
        log.warning("kite feed: a bad ticker packet dead-lettered: %s", bad.error)

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        up = [s for s in self.shards if s.open]
        queue = self.queue
        return {
            **super().stats(),
            "kite": {
                "connections": len(self.plan),
                "connections_up": len(up),
                "subscribed": sum(len(tokens) for tokens in self.plan),
                "mode": self.kite.mode,
                "reconnects": sum(max(0, s.connects - 1) for s in self.shards),
                "stalls_detected": self.stalls,
                "dropped_ticks": queue.dropped if queue is not None else 0,
                "queue": len(queue) if queue is not None else 0,
                "queue_high_water": queue.high_water if queue is not None else 0,
                "queue_max": self.kite.queue,
                "bad_packets": self.bad_packets,
                "heartbeats": sum(s.heartbeats for s in self.shards),
                "order_updates": sum(s.order_updates for s in self.shards),
                "last_frame_age_s": round(max((now - s.last_frame for s in up), default=-1), 3),
            },
        }
