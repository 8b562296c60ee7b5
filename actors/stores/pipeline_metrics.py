"""Per-stage pipeline counters, accumulated in memory and written in batches.

The hot path calls `incr()` (a dict update, no I/O); `flush()` writes everything pending in
one Redis pipeline. Ticks arrive by the thousand a second, so one write per item would cost
more than the work being counted.
"""

from __future__ import annotations

import asyncio
import logging
import time

from actors.stores.read_models import BrokerKeys, ReadModelStore, StageMetrics

__all__ = ["PipelineMetrics"]

log = logging.getLogger(__name__)


class PipelineMetrics:
    """Counts and last-seen times per (broker, stage); `broker` None is the shared feed."""

    def __init__(self, store: ReadModelStore) -> None:
        self._store = store
        self._pending: dict[tuple[str, str], StageMetrics] = {}

    @property
    def pending(self) -> int:
        """How many (broker, stage) entries are waiting for `flush()`."""
        return len(self._pending)

    def incr(self, stage: str, broker: str | None, n: int = 1, ts: int | None = None) -> None:
        """Count `n` items through `stage`; `ts` (ns) defaults to now."""
        keys = BrokerKeys.of(broker)
        keys.stage(stage)  # refuse a bad stage name here, not at flush time
        key = (keys.prefix, stage)
        seen = StageMetrics(n, time.time_ns() if ts is None else ts)
        current = self._pending.get(key)
        self._pending[key] = seen if current is None else current.add(seen)

    async def flush(self) -> int:
        """Write all pending counts in one round trip; returns the entries written.

        If the write fails the counts go back into the pending batch (nothing is lost)
        and the error propagates.
        """
        batch, self._pending = self._pending, {}
        if not batch:
            return 0
        try:
            await self._store.add_pipeline_counts(batch)
        except BaseException:
            for key, m in batch.items():
                current = self._pending.get(key)
                self._pending[key] = m if current is None else m.add(current)
            raise
        return len(batch)

    async def flush_every(self, interval_s: float, *, final_timeout_s: float = 2.0) -> None:
        """Flush every `interval_s` until cancelled, then once more within `final_timeout_s`.

        A failed flush is logged and retried at the next tick: metrics must never stop
        the actor that counts them.
        """
        try:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await self.flush()
                except Exception as e:
                    log.warning("pipeline metrics flush failed, will retry: %s", e)
        except asyncio.CancelledError:
            # Not shielded: a second cancel may cut the final flush short, and flush() then
            # keeps the counts pending rather than losing them mid-write.
            try:
                async with asyncio.timeout(final_timeout_s):
                    await self.flush()
            except Exception as e:
                log.warning("final pipeline metrics flush failed: %s", e)
            raise
