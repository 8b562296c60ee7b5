"""The mirror's intake for one epoch: each stream's consumer recreated at its ack floor
(`bridge.mirror.consumers`), pulled by the runtime's `PullFeeder` into the mirror's one
inbox, with the delivery numbering checked.

An epoch ends with `unbind()`: the feeders stop (their epochs end, so nothing an old pull
request still fetches gets through) and the deliveries queued but not handled yet are
forgotten. They are unacked, so the next epoch's consumer delivers them again, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.errors import DeliveryGap, MirrorInterrupted
from bridge.mirror.config import BridgeConfig
from bridge.mirror.consumers import bind_consumer
from supervisors.acks import AckMeta, parse_ack_subject
from supervisors.bus import Bus, ConsumerSettings, Msg
from supervisors.consumer import PullFeeder

__all__ = ["Intake"]

log = logging.getLogger(__name__)


class Intake:
    """Puts `(stream, msg)` on `inbox` for every delivery of the current epoch; a failed
    watchdog (the consumer gone) is reported to `on_failure`."""

    def __init__(
        self,
        bus: Bus,
        config: BridgeConfig,
        inbox: asyncio.Queue[Any],
        on_failure: Callable[[BaseException], None],
        *,
        name: str = "bridge",
    ) -> None:
        self._bus = bus
        self._config = config
        self._inbox = inbox
        self._on_failure = on_failure
        self._name = name
        self.bound: list[str] = []
        self._feeders: dict[str, PullFeeder] = {}  # one per stream; each bind is an epoch
        self._watchdogs: list[asyncio.Task[None]] = []
        self._deliveries: dict[str, int] = {}

    async def bind(self) -> None:
        """Start an epoch on every mirrored stream that exists."""
        config = self._config
        settings = ConsumerSettings(
            ack_wait_s=config.ack_wait_s, max_ack_pending=config.max_ack_pending
        )
        self.bound = []
        self._deliveries.clear()
        existing = set(await self._stream_names())
        for stream in config.streams:
            if stream not in existing:
                log.warning(
                    "bridge: stream %s does not exist; not mirrored (ops bootstrap)", stream
                )
                continue
            durable = config.durable(stream)
            await bind_consumer(self._bus, stream, durable, settings)
            self._deliveries[stream] = 0  # a (re)created consumer numbers deliveries from 1
            feeder = self._feeders.get(stream)
            if feeder is None:
                feeder = self._feeders[stream] = PullFeeder(
                    self._bus, stream, durable, self._deliver_for(stream),
                    batch=config.pull_batch,
                )  # fmt: skip
            await feeder.start()  # a new epoch: nothing the previous one fetched gets through
            task = asyncio.create_task(feeder.watchdog(), name=f"{self._name}:{stream}:watchdog")
            task.add_done_callback(self._watchdog_done)
            self._watchdogs.append(task)
            self.bound.append(stream)

    async def unbind(self) -> None:
        """End the epoch (safe to call twice)."""
        watchdogs, self._watchdogs = self._watchdogs, []
        for task in watchdogs:
            task.cancel()
        for feeder in self._feeders.values():
            await feeder.stop()
        kept = []
        while not self._inbox.empty():
            entry = self._inbox.get_nowait()
            if not isinstance(entry, tuple):  # the mirror's own signals stay
                kept.append(entry)
        for entry in kept:
            self._inbox.put_nowait(entry)

    def check(self, stream: str, msg: Msg) -> AckMeta:
        """The delivery's metadata; `DeliveryGap` when a delivery before it was lost."""
        meta = parse_ack_subject(msg.reply)
        expected = self._deliveries[stream] + 1
        if meta.consumer_seq != expected:
            raise DeliveryGap(stream, expected, meta.consumer_seq)
        self._deliveries[stream] = meta.consumer_seq
        return meta

    async def _stream_names(self) -> list[str]:
        try:
            return [str(info.config.name) for info in await self._bus.js.streams_info()]
        except Exception as exc:
            raise MirrorInterrupted("listing JetStream streams", exc) from exc

    def _deliver_for(self, stream: str) -> Callable[[Msg], Awaitable[None]]:
        inbox = self._inbox

        async def deliver(msg: Msg) -> None:
            inbox.put_nowait((stream, msg))  # unbounded: max_ack_pending bounds it

        return deliver

    def _watchdog_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._on_failure(task.exception() or RuntimeError("watchdog"))
