"""Reading a range of a topic for replay, merged back into the order NATS stored it in.

A topic's partitions are read together and merged by `(nats-stream, nats-seq)`, so a
replay republishes in the original stream order (ticks of different instruments stay
interleaved as they were), not partition by partition.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge.errors import ReplayError
from bridge.mirror.records import H_SEQ

__all__ = ["ReplayRange", "plan_range", "read_range", "parse_time_ms", "new_reader"]


@dataclass(frozen=True, slots=True)
class ReplayRange:
    """Per partition: the first offset to read and the offset to stop before (None: the end)."""

    starts: dict[TopicPartition, int]
    stops: dict[TopicPartition, int | None]
    ends: dict[TopicPartition, int]
    to_time_ms: int | None
    from_time_ms: int | None = None

    @property
    def estimate(self) -> int:
        return sum(
            max(0, (stop if (stop := self.stops[tp]) is not None else self.ends[tp]) - start)
            for tp, start in self.starts.items()
        )


def parse_time_ms(value: str) -> int:
    """ISO 8601 (`2026-11-25T09:15:00+05:30`; naive means UTC) → epoch milliseconds."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayError(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-11-25T09:15:00+05:30)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


async def plan_range(
    consumer: Any,
    topic: str,
    *,
    from_offset: int | None = None,
    to_offset: int | None = None,
    from_time_ms: int | None = None,
    to_time_ms: int | None = None,
) -> ReplayRange:
    """Resolve offsets and times to per-partition offsets (`to_offset` is inclusive)."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise ReplayError(f"topic {topic!r} does not exist (or has no partitions)")
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    begin = await consumer.beginning_offsets(tps)
    end = await consumer.end_offsets(tps)
    starts = {tp: begin[tp] for tp in tps}
    if from_offset is not None:
        starts = {tp: max(begin[tp], from_offset) for tp in tps}
    if from_time_ms is not None:
        found = await consumer.offsets_for_times(dict.fromkeys(tps, from_time_ms))
        starts = {tp: max(starts[tp], found[tp].offset if found.get(tp) else end[tp]) for tp in tps}
    stops: dict[TopicPartition, int | None] = dict.fromkeys(tps)
    if to_offset is not None:
        stops = dict.fromkeys(tps, to_offset + 1)
    if to_time_ms is not None:
        found = await consumer.offsets_for_times(dict.fromkeys(tps, to_time_ms))
        for tp in tps:
            if found.get(tp) is not None:
                stop = found[tp].offset
                current = stops[tp]
                stops[tp] = stop if current is None else min(current, stop)
    return ReplayRange(starts, stops, end, to_time_ms, from_time_ms)


def _order(record: Any) -> tuple[int, int]:
    seq = dict(record.headers or ()).get(H_SEQ)
    return (int(seq) if seq else 0, record.timestamp or 0)


async def read_range(
    consumer: Any, rng: ReplayRange, *, idle_rounds: int = 6
) -> AsyncIterator[Any]:
    """Yield the records of `rng`, merged across partitions by `nats-seq`.

    A partition is read until its position passes its stop (or the end seen at the start);
    one that yields nothing for `idle_rounds` fetches in a row is treated as finished.
    """
    limits = {tp: stop if stop is not None else rng.ends[tp] for tp, stop in rng.stops.items()}
    live = {tp for tp, start in rng.starts.items() if start < limits[tp]}
    for tp in live:
        consumer.seek(tp, rng.starts[tp])
    buffers: dict[TopicPartition, deque[Any]] = {tp: deque() for tp in live}
    heap: list[tuple[tuple[int, int], int, int, TopicPartition]] = []
    idle = 0
    while live or heap:
        # A merge may only emit once every partition still being read has a head buffered.
        while live and any(not buffers[tp] for tp in live):
            batch = await consumer.getmany(*live, timeout_ms=500, max_records=5000)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                for record in records:
                    if _past(record, rng.stops[tp], rng.to_time_ms):
                        live.discard(tp)
                        break
                    if rng.from_time_ms is not None and record.timestamp < rng.from_time_ms:
                        continue  # brokers differ in how exactly they resolve a time to an offset
                    if not buffers[tp]:
                        heapq.heappush(heap, (_order(record), tp.partition, record.offset, tp))
                    buffers[tp].append(record)
            for tp in list(live):
                if await consumer.position(tp) >= limits[tp] or idle >= idle_rounds:
                    live.discard(tp)
        if not heap:
            break
        _, _, _, tp = heapq.heappop(heap)
        record = buffers[tp].popleft()
        if buffers[tp]:
            nxt = buffers[tp][0]
            heapq.heappush(heap, (_order(nxt), tp.partition, nxt.offset, tp))
        yield record


def _past(record: Any, stop: int | None, to_time_ms: int | None) -> bool:
    if stop is not None and record.offset >= stop:
        return True
    return to_time_ms is not None and record.timestamp >= to_time_ms


def new_reader(bootstrap_servers: str) -> Any:
    """A consumer without a group (nothing committed), for one replay."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id="alpha-panda-replay",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
