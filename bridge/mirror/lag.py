"""The bridge's lag monitor: per stream, last sequence minus mirrored sequence, and rate.

Runs beside the mirror loop; it reads JetStream only, so it goes on while Kafka is down
(the lag then grows, which is the point). It also notices a stream that appears after the
bridge started (the operator ran `ops bootstrap` late), so the mirror can bind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bridge.mirror.config import BridgeConfig
from bridge.mirror.metrics import LAG, MIRRORED_SEQ, THROUGHPUT, StreamFigures, stream_labels
from supervisors.bus import Bus

__all__ = ["LagMonitor"]

log = logging.getLogger(__name__)


class LagMonitor:
    """`run()` measures the bound streams every `lag_interval_s` until cancelled."""

    def __init__(
        self,
        bus: Bus,
        config: BridgeConfig,
        figures: dict[str, StreamFigures],
        bound: Callable[[], list[str]],
        on_new_stream: Callable[[], None],
    ) -> None:
        self._bus = bus
        self._config = config
        self._figures = figures
        self._bound = bound
        self._on_new_stream = on_new_stream
        self._last: dict[str, tuple[float, int]] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._config.lag_interval_s)
            bound = self._bound()
            if len(bound) < len(self._config.streams):
                await self._look_for_new_streams(bound)
            for stream in bound:
                try:
                    await self.measure(stream)
                except Exception as exc:  # NATS reconnecting: next round
                    log.debug("bridge lag of %s: %s", stream, exc)

    async def _look_for_new_streams(self, bound: list[str]) -> None:
        try:
            names = {str(i.config.name) for i in await self._bus.js.streams_info()}
        except Exception:  # NATS reconnecting: next round
            return
        if any(s in names and s not in bound for s in self._config.streams):
            log.info("bridge: a stream to mirror appeared; binding it")
            self._on_new_stream()

    async def measure(self, stream: str) -> None:
        figures = self._figures[stream]
        info = await self._bus.js.stream_info(stream)
        consumer = await self._bus.js.consumer_info(stream, self._config.durable(stream))
        first = int(info.state.first_seq or 1)
        figures.stream_last_seq = int(info.state.last_seq or 0)
        figures.ack_floor = max(int(consumer.ack_floor.stream_seq or 0), first - 1)
        figures.lag = max(0, figures.stream_last_seq - figures.ack_floor)
        figures.pending = int(consumer.num_pending or 0) + int(consumer.num_ack_pending or 0)
        now = time.monotonic()
        t0, n0 = self._last.get(stream, (now, figures.mirrored))
        if now > t0:
            figures.throughput_per_s = (figures.mirrored - n0) / (now - t0)
        self._last[stream] = (now, figures.mirrored)
        LAG.labels(*stream_labels(stream)).set(figures.lag)
        MIRRORED_SEQ.labels(*stream_labels(stream)).set(figures.mirrored_seq)
        THROUGHPUT.labels(*stream_labels(stream)).set(figures.throughput_per_s)
