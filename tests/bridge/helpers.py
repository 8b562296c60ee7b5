"""Shared steps of the bridge tests: streams, publishing envelopes, reading topics back."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge.mirror.config import BridgeConfig
from bridge.mirror.process import BridgeProcess
from ops.overlays import stream_settings
from schemas.enums import Side
from schemas.envelope import Envelope, encode, headers_for, new_envelope
from schemas.events import MarketTick, OrderFilled
from schemas.names import ORDERS_FILLED, broker_subject, tick_subject
from supervisors.bus import Bus

__all__ = [
    "make_streams",
    "tick",
    "fill",
    "publish_many",
    "read_topic",
    "nats_seqs",
    "start_bridge",
    "wait_for",
    "assert_exactly_once",
]


async def make_streams(bus: Bus) -> None:
    for spec in stream_settings("test"):
        await bus.ensure_stream(spec)


def tick(token: int, price: str = "101.5") -> tuple[str, Envelope[Any]]:
    env = new_envelope(
        MarketTick(instrument_token=token, last_price=Decimal(price)), source="feed", key=str(token)
    )
    return tick_subject(token), env


def fill(n: int) -> tuple[str, Envelope[Any]]:
    data = OrderFilled(
        client_order_id=f"co-{n}", broker_order_id=f"bo-{n}", fill_id=f"f-{n}",
        strategy_id="momentum", instrument_token=256265 + n % 3, side=Side.BUY, quantity=1,
        price=Decimal("101.25"), cumulative_quantity=1, order_quantity=1,
        average_price=Decimal("101.25"), final=True,
    )  # fmt: skip
    env = new_envelope(data, source="paper", broker="paper", key=data.client_order_id,
                       trace="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")  # fmt: skip
    return broker_subject("paper", ORDERS_FILLED), env


async def publish_many(
    bus: Bus, items: list[tuple[str, Envelope[Any]]], window: int = 1000
) -> None:
    pending = []
    for subject, env in items:
        pending.append(
            (subject, await bus.publish_pipelined(subject, encode(env), headers_for(env)))
        )
        if len(pending) >= window:
            await bus.wait_acks(pending, 30)
            pending = []
    await bus.wait_acks(pending, 30)


async def read_topic(bootstrap: str, topic: str, idle_ms: int = 1500) -> list[Any]:
    """Every record of every partition of `topic`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=100,
    )  # fmt: skip
    await consumer.start()
    try:
        await consumer.topics()
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        while True:
            batch = await consumer.getmany(timeout_ms=idle_ms, max_records=10000)
            if not batch:
                return records
            for chunk in batch.values():
                records.extend(chunk)
    finally:
        await consumer.stop()


def nats_seqs(records: list[Any], stream: str | None = None) -> list[int]:
    out = []
    for r in records:
        h = dict(r.headers or ())
        if stream is None or h.get("nats-stream") == stream.encode():
            out.append(int(h["nats-seq"]))
    return out


def assert_exactly_once(seqs: list[int], expected: set[int]) -> None:
    counts = Counter(seqs)
    dups = {s: c for s, c in counts.items() if c > 1}
    missing = expected - set(counts)
    extra = set(counts) - expected
    assert not dups, f"{len(dups)} duplicated sequences, e.g. {sorted(dups)[:10]}"
    assert not missing, f"{len(missing)} missing sequences, e.g. {sorted(missing)[:10]}"
    assert not extra, f"unexpected sequences {sorted(extra)[:10]}"


async def start_bridge(
    bus: Bus, bootstrap: str, **changes: Any
) -> tuple[BridgeProcess, asyncio.Task[None]]:
    config = BridgeConfig(bootstrap_servers=bootstrap, env="test", lag_interval_s=0.2, **changes)
    process = BridgeProcess(bus, config)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set), name="test-bridge")
    async with asyncio.timeout(15):
        await ready.wait()
    return process, task


async def wait_for(predicate: Any, timeout_s: float = 30.0, what: str = "condition") -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.05)
