"""Where the bridge left off: the last `nats-seq` of a stream in each target partition.

A partition may hold records of several streams (a `.dlq` twin receives the DLQ stream's
letters and the bridge's own validation failures from the origin stream), so we look for
the last record *of the given stream*: read the tail, and when it holds none of that
stream's records, read a window sixteen times larger, back to the partition's start.

Some Kafka-protocol brokers (Tansu) report as end offset the last *batch's* base offset
plus one; a fetch always returns whole batches, so reading from `end - window` until the
position passes that end still yields the true last record.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge.errors import kafka_failure
from bridge.mirror.records import H_SEQ, H_STREAM

__all__ = ["TailReader", "last_seq_in"]

_FIRST_WINDOW: Final = 1
_GROWTH: Final = 16


def last_seq_in(records: list[Any], stream: bytes) -> int | None:
    """The highest `nats-seq` among `records` written for `stream` (None if there is none)."""
    best: int | None = None
    for record in records:
        headers = dict(record.headers or ())
        if headers.get(H_STREAM) != stream:
            continue
        raw = headers.get(H_SEQ)
        if raw is None:
            continue
        seq = int(raw)
        if best is None or seq > best:
            best = seq
    return best


class TailReader:
    """One assigned-partitions consumer (no group), reused for every lookup; not thread-safe."""

    def __init__(self, bootstrap_servers: str, *, client_id: str, timeout_s: float = 15.0) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._timeout_s = timeout_s
        self._consumer: Any = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                async with asyncio.timeout(5):
                    await consumer.stop()
            except Exception:  # already broken: nothing left to release cleanly
                pass

    async def _ensure(self) -> Any:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=50,
                request_timeout_ms=int(self._timeout_s * 1000),
                isolation_level="read_uncommitted",
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def last_seqs(self, stream: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """For each partition, the last `nats-seq` of `stream` in it (0 when it has none)."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout_s * 2):
                    return await self._last_seqs(stream.encode(), tps)
            except (Exception, TimeoutError) as exc:
                await self.close()
                raise kafka_failure(
                    f"reading the tails of {sorted({t.topic for t in tps})}", exc
                ) from exc

    async def _last_seqs(
        self, stream: bytes, tps: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        consumer = await self._ensure()
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        result: dict[TopicPartition, int] = {}
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        result.update({tp: 0 for tp in tps if tp not in remaining})
        window = _FIRST_WINDOW
        while remaining:
            starts = {tp: max(begin[tp], end[tp] - window) for tp in remaining}
            found = await self._read(consumer, starts, end)
            for tp in list(remaining):
                seq = last_seq_in(found.get(tp, []), stream)
                if seq is not None:
                    result[tp] = seq
                    remaining.discard(tp)
                elif starts[tp] <= begin[tp]:
                    result[tp] = 0
                    remaining.discard(tp)
            window *= _GROWTH
        return result

    @staticmethod
    async def _read(
        consumer: Any, starts: dict[TopicPartition, int], end: dict[TopicPartition, int]
    ) -> dict[TopicPartition, list[Any]]:
        """Every record from `starts` until the position passes the end offset seen before."""
        tps = list(starts)
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        found: dict[TopicPartition, list[Any]] = {tp: [] for tp in tps}
        pending = set(tps)
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=200, max_records=10000)
            for tp, records in batch.items():
                found[tp].extend(records)
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
        return found
