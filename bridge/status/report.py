"""`alpha-panda bridge status`: lag per stream and throughput, read from JetStream itself.

The figures come from the bridge's durable consumers, so they are right whether the bridge
runs inside `alpha-panda up` or alone, and readable while it is down (lag then grows).
Lag is the stream's last sequence minus the consumer's ack floor: the bridge acks only
after Kafka acked, so the ack floor is the mirrored sequence.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nats.js.errors import NotFoundError

from bridge.mirror.config import MIRRORED_STREAMS
from supervisors.bus import Bus

__all__ = ["bridge_status", "format_status"]


async def _sample(bus: Bus, stream: str, durable: str) -> dict[str, Any]:
    try:
        info = await bus.js.stream_info(stream)
    except NotFoundError:
        return {"stream": stream, "state": "no stream"}
    row: dict[str, Any] = {
        "stream": stream,
        "durable": durable,
        "stream_last_seq": int(info.state.last_seq or 0),
        "stream_messages": int(info.state.messages or 0),
    }
    first = int(info.state.first_seq or 1)
    try:
        consumer = await bus.js.consumer_info(stream, durable)
    except NotFoundError:
        row.update(state="not mirrored yet", mirrored_seq=0, lag=row["stream_last_seq"], pending=0)
        return row
    floor = max(int(consumer.ack_floor.stream_seq or 0), first - 1)
    row.update(
        state="mirroring",
        mirrored_seq=floor,
        lag=max(0, row["stream_last_seq"] - floor),
        pending=int(consumer.num_pending or 0) + int(consumer.num_ack_pending or 0),
        in_flight=int(consumer.num_ack_pending or 0),
        redelivered=int(consumer.num_redelivered or 0),
    )
    return row


async def bridge_status(
    bus: Bus,
    *,
    streams: tuple[str, ...] = MIRRORED_STREAMS,
    durable_prefix: str = "bridge",
    sample_s: float = 1.0,
) -> dict[str, Any]:
    """Lag and throughput per stream; throughput from two samples `sample_s` apart."""
    durables = {s: f"{durable_prefix}-{s.lower()}" for s in streams}
    first = {s: await _sample(bus, s, d) for s, d in durables.items()}
    t0 = time.monotonic()
    if sample_s > 0:
        await asyncio.sleep(sample_s)
        second = {s: await _sample(bus, s, d) for s, d in durables.items()}
        dt = time.monotonic() - t0
        for s, row in second.items():
            before = first[s].get("mirrored_seq")
            if before is not None and row.get("mirrored_seq") is not None:
                row["throughput_per_s"] = round((row["mirrored_seq"] - before) / dt, 1)
        first = second
    rows = list(first.values())
    total_lag = sum(int(r.get("lag", 0)) for r in rows)
    return {"streams": rows, "total_lag": total_lag, "at_rest": total_lag == 0}


def format_status(status: dict[str, Any]) -> str:
    lines = [
        f"{'stream':<9} {'state':<17} {'last seq':>10} {'mirrored':>10} {'lag':>8} {'msg/s':>9}"
    ]
    for row in status["streams"]:
        lines.append(
            f"{row['stream']:<9} {row.get('state', ''):<17} {row.get('stream_last_seq', '-'):>10} "
            f"{row.get('mirrored_seq', '-'):>10} {row.get('lag', '-'):>8} "
            f"{row.get('throughput_per_s', '-'):>9}"
        )
    lines.append(f"total lag {status['total_lag']}" + (" (at rest)" if status["at_rest"] else ""))
    return "\n".join(lines)
