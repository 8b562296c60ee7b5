"""`alpha-panda bench bridge`: how fast the bridge mirrors a backlog, and that it loses nothing.

A throwaway nats-server and an in-memory Tansu broker are started; `messages` envelopes
(ticks over 50 instruments, one in twenty a paper fill) are stored in JetStream first, then
the bridge is started and timed until every message is acked, i.e. stored in Kafka. The
topics are read back to count lost and duplicated sequences.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge.mirror.config import BridgeConfig
from bridge.mirror.process import BridgeProcess
from bridge.mirror.producer_config import apply_overrides, default_profiles
from bridge.replay.progress import Progress
from ops.bench.local_kafka import LocalKafka
from ops.overlays import stream_settings
from schemas.enums import Side
from schemas.envelope import Envelope, encode, headers_for, new_envelope
from schemas.events import MarketTick, OrderFilled
from schemas.names import (
    MARKET_STREAM,
    ORDERS_FILLED,
    PAPER_STREAM,
    TICKS_TOPIC,
    broker_subject,
    tick_subject,
)
from supervisors.bus import Bus
from supervisors.embedded_nats import EmbeddedNats

__all__ = ["run_bridge_bench", "main"]

_STREAMS = (MARKET_STREAM.name, PAPER_STREAM.name)
_TOPICS = {
    MARKET_STREAM.name: TICKS_TOPIC,
    PAPER_STREAM.name: broker_subject("paper", ORDERS_FILLED),  # its topic is its subject
}


def _message(n: int) -> tuple[str, bytes, dict[str, str]]:
    env: Envelope[Any]
    if n % 20 == 19:
        data = OrderFilled(
            client_order_id=f"co-{n}", broker_order_id=f"bo-{n}", fill_id=f"f-{n}",
            strategy_id="bench", instrument_token=256265, side=Side.BUY, quantity=1,
            price=Decimal("101.25"), cumulative_quantity=1, order_quantity=1,
            average_price=Decimal("101.25"), final=True,
        )  # fmt: skip
        env = new_envelope(data, source="bench", broker="paper", key=data.client_order_id)
        subject = broker_subject("paper", ORDERS_FILLED)
    else:
        token = n % 50 + 1
        tick = MarketTick(
            instrument_token=token, last_price=Decimal("101.05") + n % 7, volume_traded=n
        )
        env = new_envelope(tick, source="bench", key=str(token))
        subject = tick_subject(token)
    return subject, encode(env), headers_for(env)


async def _load(bus: Bus, messages: int, bar: Progress) -> dict[str, int]:
    pending: list[tuple[str, asyncio.Future[Any]]] = []
    for n in range(messages):
        subject, body, headers = _message(n)
        pending.append((subject, await bus.publish_pipelined(subject, body, headers)))
        if len(pending) >= 2000:
            await bus.wait_acks(pending, 30)
            bar.update(len(pending))
            pending = []
    await bus.wait_acks(pending, 30)
    bar.update(len(pending))
    return {s: await bus.stream_last_seq(s) for s in _STREAMS}


async def _read_back(bootstrap: str) -> dict[str, list[int]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=100,
    )  # fmt: skip
    await consumer.start()
    seqs: dict[str, list[int]] = {s: [] for s in _STREAMS}
    try:
        await consumer.topics()
        tps = [
            TopicPartition(t, p)
            for t in _TOPICS.values()
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while batch := await consumer.getmany(timeout_ms=1500, max_records=20000):
            for records in batch.values():
                for r in records:
                    h = dict(r.headers or ())
                    seqs[h["nats-stream"].decode()].append(int(h["nats-seq"]))
    finally:
        await consumer.stop()
    return seqs


async def run_bridge_bench(
    messages: int = 50000,
    progress: bool = True,
    producer: tuple[str, ...] = (),
    registry_url: str | None = None,
) -> dict[str, Any]:
    """Mirror `messages` stored messages; returns throughput and the lost/duplicate counts.

    `producer` takes `class.field=value` overrides (e.g. `*.compression=gzip`).
    """
    workdir = Path(tempfile.mkdtemp(prefix="ap-bench-bridge-"))
    nats = EmbeddedNats(workdir / "nats", port=0)
    kafka = LocalKafka()
    kafka.start()
    bus: Bus | None = None
    try:
        bus = await Bus.connect(await nats.start(), name="bench-bridge")
        for spec in stream_settings("test"):
            if spec.name in _STREAMS:
                await bus.ensure_stream(spec)
        loaded = await _load(bus, messages, Progress("load", messages, enabled=progress))
        config = BridgeConfig(
            bootstrap_servers=kafka.bootstrap_servers, env="test", streams=_STREAMS,
            lag_interval_s=0.5, profiles=apply_overrides(default_profiles(), producer),
            registry_url=registry_url,
        )  # fmt: skip
        process = BridgeProcess(bus, config)
        ready = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(process.run(ready.set), name="bench-bridge")
        await ready.wait()
        bar = Progress("mirror", messages, enabled=progress)
        done = 0
        while done < messages and not task.done():
            await asyncio.sleep(0.01)
            now = sum(f.mirrored for f in process.figures.values())
            bar.update(now - done)
            done = now
        seconds = time.perf_counter() - started
        bar.close()
        process.request_stop()
        await task
        seqs = await _read_back(kafka.bootstrap_servers)
    finally:
        if bus is not None:
            await bus.close()
        await nats.stop()
        kafka.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    lost = sum(len(set(range(1, loaded[s] + 1)) - set(seqs[s])) for s in _STREAMS)
    duplicates = sum(sum(c - 1 for c in Counter(seqs[s]).values()) for s in _STREAMS)
    return {
        "bench": "bridge",
        "messages": messages,
        "mirrored": done,
        "seconds": round(seconds, 3),
        "mirrored_per_s": round(done / seconds, 1),
        "lost": lost,
        "duplicates": duplicates,
        "codec": "avro" if registry_url else "json",
        "compression": config.profiles["ticks"].codec or "none",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    messages = int(next((a.split("=", 1)[1] for a in args if a.startswith("--messages=")), 50000))
    producer = tuple(a.split("=", 1)[1] for a in args if a.startswith("--producer="))
    registry = next((a.split("=", 1)[1] for a in args if a.startswith("--registry=")), None)
    result = asyncio.run(
        run_bridge_bench(
            messages, progress="--json" not in args, producer=producer, registry_url=registry
        )
    )
    print(json.dumps(result) if "--json" in args else json.dumps(result, indent=2))
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
