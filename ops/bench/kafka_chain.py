"""The Kafka-per-hop baseline: the same relay chain as the floor, through a Kafka broker.

Each hop is a topic (one partition, so order holds as in a stream) on Tansu, the
Kafka-protocol broker the tests use (in-memory storage). The source produces tick-sized
records paced like the feed (pipelined sends, acknowledgements awaited per batch); each
relay is an aiokafka consumer in its own group that produces its outputs, awaits their
acknowledgements (`acks="all"`), and only then commits the input offsets: the pipeline's
ack-after-store discipline, Kafka's way. A probe consumer reads the signal, validated and
order topics. Client settings are the latency-oriented ones a Kafka pipeline would use:
`linger_ms=0` on the producer, `fetch_max_wait_ms` small on the consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.bench.latency import LatencyRecorder
from ops.bench.pacing import MessageSizes, paced, stamp, stamped_ts, wait_until
from ops.bench.servers import start_tansu

__all__ = ["run_kafka_chain", "KAFKA_SETTINGS"]

_TICKS, _SIGNALS, _VALIDATED, _ORDERS = "k.ticks", "k.signals", "k.validated", "k.orders"
_TOPICS = (_TICKS, _SIGNALS, _VALIDATED, _ORDERS)
KAFKA_SETTINGS: dict[str, Any] = {
    "producer": {"linger_ms": 0, "acks": "all"},
    "consumer": {"fetch_max_wait_ms": 5, "enable_auto_commit": False},
}
_Relay = Callable[[bytes, int], list[tuple[str, str, bytes]]]


def _headers(msg_id: str, kind: str) -> list[tuple[str, bytes]]:
    return [("nats-msg-id", msg_id.encode()), ("alpha-type", kind.encode())]


async def _relay(
    servers: str, producer: AIOKafkaProducer, topic: str, group: str, step: _Relay,
    stop: asyncio.Event,
) -> None:  # fmt: skip
    # Assigned, not subscribed: one relay per hop needs no group rebalance, and its
    # commits still go to its group, as a restarted relay would resume from them.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=group, auto_offset_reset="earliest",
        **KAFKA_SETTINGS["consumer"],
    )  # fmt: skip
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    n = 0
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=512)
            futures: list[Awaitable[Any]] = []
            for records in batches.values():
                for record in records:
                    n += 1
                    for out_topic, kind, value in step(record.value, n):
                        headers = _headers(f"{group}:{n}:{kind}", kind)
                        futures.append(await producer.send(out_topic, value, headers=headers))
            if futures:
                await asyncio.gather(*futures)
            if batches:
                await consumer.commit()  # only after every output is acknowledged
    finally:
        await consumer.stop()


async def _probe(
    servers: str, recorders: dict[str, LatencyRecorder], counts: dict[str, int],
    started: asyncio.Event, stop: asyncio.Event,
) -> None:  # fmt: skip
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, auto_offset_reset="earliest", **KAFKA_SETTINGS["consumer"]
    )
    await consumer.start()
    consumer.assign([TopicPartition(t, 0) for t in (_SIGNALS, _VALIDATED, _ORDERS)])
    started.set()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time_ns()
            for tp, records in batches.items():
                for record in records:
                    kind = dict(record.headers).get("alpha-type", b"").decode()
                    name = {_SIGNALS: "signal", _VALIDATED: "validated"}.get(
                        tp.topic, "filled" if kind == "filled" else ""
                    )
                    if name:
                        counts[name] += 1
                        recorders[name].record_ns(now - stamped_ts(record.value))
    finally:
        await consumer.stop()


async def run_kafka_chain(
    rate_per_s: float, seconds: float, every: int, sizes: MessageSizes,
    *, progress: Callable[[str], None] | None = None,
) -> dict[str, LatencyRecorder]:  # fmt: skip
    """Run the chain at the pipeline's rate; returns the latency per stage."""
    total = max(every, round(rate_per_s * seconds))
    server = await start_tansu()
    recorders = {n: LatencyRecorder(n) for n in ("signal", "validated", "filled")}
    counts = dict.fromkeys(recorders, 0)
    stop, probe_ready = asyncio.Event(), asyncio.Event()
    admin = AIOKafkaAdminClient(bootstrap_servers=server.url)
    producer = AIOKafkaProducer(bootstrap_servers=server.url, **KAFKA_SETTINGS["producer"])
    s = sizes
    steps: tuple[tuple[str, str, _Relay], ...] = (
        (_TICKS, "strategies", lambda v, n: [] if n % every else [
            (_SIGNALS, "signal", stamp(stamped_ts(v), s.signal))]),
        (_SIGNALS, "risk", lambda v, n: [
            (_VALIDATED, "validated", stamp(stamped_ts(v), s.validated))]),
        (_VALIDATED, "execution", lambda v, n: [
            (_ORDERS, kind, stamp(stamped_ts(v), size))
            for kind, size in (("submitted", s.submitted), ("accepted", s.accepted),
                               ("filled", s.filled))
        ]),
    )  # fmt: skip
    tasks: list[asyncio.Task[None]] = []
    try:
        await admin.start()
        await admin.create_topics([NewTopic(t, 1, 1) for t in _TOPICS])
        await producer.start()
        async with asyncio.TaskGroup() as tg:
            tasks.append(tg.create_task(_probe(server.url, recorders, counts, probe_ready, stop)))
            for topic, group, step in steps:
                tasks.append(tg.create_task(_relay(server.url, producer, topic, group, step, stop)))
            await probe_ready.wait()
            await asyncio.sleep(1.0)  # let the relays join their groups before the clock runs
            await _source(producer, rate_per_s, total, s.tick)
            await wait_until(lambda: counts["filled"] >= total // every, 30.0)
            stop.set()
        if progress is not None:
            fill = recorders["filled"]
            progress(f"kafka chain: fills {counts['filled']:,}  p50 {fill.percentile_ms(50):.2f}"
                     f" ms  p99 {fill.percentile_ms(99):.2f} ms")  # fmt: skip
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await producer.stop()
        with contextlib.suppress(Exception):
            await admin.close()
        await server.stop()
    return recorders


async def _source(producer: AIOKafkaProducer, rate_per_s: float, total: int, size: int) -> None:
    async def send(first: int, count: int) -> None:
        futures = []
        for n in range(first, first + count):
            value = stamp(time.time_ns(), size)
            futures.append(await producer.send(_TICKS, value, headers=_headers(f"t{n}", "tick")))
        await asyncio.gather(*futures)

    await paced(rate_per_s, total, send)
