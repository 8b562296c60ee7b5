"""The transport floor: bare nats-py relays over the pipeline's hops, with no logic.

Same shape as the tick → fill path: a source publishes tick-sized messages over 20
subjects at the target rate, paced like the feed; relay 1 ("strategies") forwards every
`every`-th one as a signal-sized message; relay 2 ("risk") forwards each as a
validated-sized one; relay 3 ("execution") answers each with submitted-, accepted- and
filled-sized messages. The probe reads the origin timestamp from the first bytes.

`jetstream` mode keeps the pipeline's delivery discipline with nothing else: ticks go to a
file-backed stream with pipelined publishes (acks awaited per batch) and are read through
an ordered consumer; the other hops use durable push consumers with explicit ack, each
input acked only after its outputs' publish acknowledgements. `core` mode is the same
chain over core NATS: no streams, no acks, no durability; the price of durability shows
as the gap between the two.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api as js_api

from ops.bench.pacing import MessageSizes, paced, stamp, stamped_ts, wait_until
from ops.bench.probe import Probe, Stage
from ops.bench.servers import start_nats
from schemas.envelope import HDR_MSG_ID, HDR_TYPE
from schemas.events import MarketTick
from supervisors.bus import Bus, StreamSettings

__all__ = ["FloorMode", "FloorRun", "run_floor"]

FloorMode = Literal["jetstream", "core"]

_TICKS, _SIGNALS, _VALIDATED = "floor.ticks", "floor.b.signals", "floor.b.validated"
_SUBMITTED, _ACCEPTED, _FILLED = "floor.b.submitted", "floor.b.accepted", "floor.b.filled"
_INSTRUMENTS = 20


def _headers(msg_id: str, kind: str) -> dict[str, str]:
    return {HDR_MSG_ID: msg_id, HDR_TYPE: kind}


@dataclass
class FloorRun:
    """What one floor run measured: the probe's latencies, how fast relay 1 took the ticks,
    and the CPU this process (source, relays, probe) and the nats-server spent from the
    first tick to the last fill, for the same comparison as the pipeline's."""

    probe: Probe
    ticks: int
    every: int
    ticks_per_s: float = 0.0  # first tick published -> the last one into relay 1
    app_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    drained: bool = False

    @property
    def lost(self) -> int:
        return max(0, self.ticks // self.every - self.probe["filled"].count)


class _Chain:
    def __init__(self, bus: Bus, mode: FloorMode, sizes: MessageSizes, every: int) -> None:
        self.bus, self.mode, self.sizes, self.every = bus, mode, sizes, every
        self.subs: list[Subscription] = []
        self.seen = 0
        self.last_seen_at = 0.0  # time.monotonic() of the latest tick into relay 1

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        if self.mode == "core":
            await self.bus.nc.publish(subject, payload, headers=headers)
        else:
            await self.bus.js.publish(subject, payload, headers=headers)

    async def on_tick(self, msg: Msg) -> None:
        self.seen += 1
        self.last_seen_at = time.monotonic()
        if self.seen % self.every == 0:
            ts = stamped_ts(msg.data)
            await self.publish(
                _SIGNALS, stamp(ts, self.sizes.signal), _headers(f"s{self.seen}", "signal")
            )

    async def on_signal(self, msg: Msg) -> None:
        ts = stamped_ts(msg.data)
        ident = (msg.headers or {}).get(HDR_MSG_ID, "")
        await self.publish(
            _VALIDATED, stamp(ts, self.sizes.validated), _headers(f"{ident}:v", "val")
        )
        if self.mode == "jetstream":
            await msg.ack()

    async def on_validated(self, msg: Msg) -> None:
        ts = stamped_ts(msg.data)
        ident = (msg.headers or {}).get(HDR_MSG_ID, "")
        s = self.sizes
        outputs = ((_SUBMITTED, s.submitted), (_ACCEPTED, s.accepted), (_FILLED, s.filled))
        if self.mode == "core":
            for subject, size in outputs:
                await self.publish(subject, stamp(ts, size), _headers(f"{ident}:{subject}", "o"))
            return
        futures = [
            await self.bus.js.publish_async(
                subject, stamp(ts, size), headers=_headers(f"{ident}:{subject}", "o")
            )
            for subject, size in outputs
        ]
        await asyncio.gather(*futures)
        await msg.ack()

    async def bind(self) -> None:
        js, nc = self.bus.js, self.bus.nc
        if self.mode == "core":
            for subject, cb in ((f"{_TICKS}.>", self.on_tick), (_SIGNALS, self.on_signal),
                                (_VALIDATED, self.on_validated)):  # fmt: skip
                self.subs.append(await nc.subscribe(subject, cb=cb, pending_msgs_limit=65536))
            return
        for name, subjects in (("FLOORMKT", [f"{_TICKS}.>"]), ("FLOORBRK", ["floor.b.>"])):
            await self.bus.ensure_stream(StreamSettings(name, subjects, duplicate_window_s=120))
        ordered = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.NEW)
        self.subs.append(
            await js.subscribe(
                f"{_TICKS}.>", stream="FLOORMKT", ordered_consumer=True, config=ordered,
                cb=self.on_tick, idle_heartbeat=2.0, flow_control=True,
                pending_msgs_limit=65536,
            )
        )  # fmt: skip
        for durable, subject, cb in (("floor-risk", _SIGNALS, self.on_signal),
                                     ("floor-exec", _VALIDATED, self.on_validated)):  # fmt: skip
            config = js_api.ConsumerConfig(
                ack_policy=js_api.AckPolicy.EXPLICIT, max_ack_pending=1024, ack_wait=30
            )
            self.subs.append(
                await js.subscribe(
                    subject, durable=durable, stream="FLOORBRK", cb=cb, manual_ack=True,
                    config=config,
                )
            )  # fmt: skip

    async def source(self, rate_per_s: float, total: int) -> None:
        size, js, core = self.sizes.tick, self.bus.js, self.mode == "core"

        async def send(first: int, count: int) -> None:
            futures: list[Awaitable[Any]] = []
            for n in range(first, first + count):
                subject = f"{_TICKS}.{n % _INSTRUMENTS}"
                payload = stamp(time.time_ns(), size)
                headers = _headers(f"tick:{n}", MarketTick.TYPE)
                if core:
                    await self.bus.nc.publish(subject, payload, headers=headers)
                else:
                    futures.append(await js.publish_async(subject, payload, headers=headers))
            await asyncio.gather(*futures)

        await paced(rate_per_s, total, send)


async def run_floor(
    mode: FloorMode,
    rate_per_s: float,
    seconds: float,
    every: int,
    sizes: MessageSizes,
    *,
    progress: Callable[[str], None] | None = None,
) -> FloorRun:
    """Run the relay chain at the pipeline's rate: its latencies, keep-up and CPU."""
    total = max(every, round(rate_per_s * seconds))
    server = await start_nats()
    bus = await Bus.connect(server.url, name=f"bench-floor-{mode}")
    probe_bus = await Bus.connect(server.url, name="bench-floor-probe")
    probe = Probe(probe_bus.nc, [
        Stage("signal", _SIGNALS, stamped_ts),
        Stage("validated", _VALIDATED, stamped_ts),
        Stage("filled", _FILLED, stamped_ts),
    ])  # fmt: skip
    chain = _Chain(bus, mode, sizes, every)
    run = FloorRun(probe, total, every)
    try:
        await probe.start()
        await chain.bind()
        cpu, server_cpu = time.process_time(), server.cpu_now_s()
        started = time.monotonic()
        await chain.source(rate_per_s, total)
        run.drained = await wait_until(
            lambda: probe["filled"].count >= total // every and chain.seen >= total, 30.0
        )
        run.app_cpu_s = time.process_time() - cpu
        run.server_cpu_s = server.cpu_now_s() - server_cpu
        taken_s = (chain.last_seen_at or time.monotonic()) - started
        run.ticks_per_s = round(chain.seen / taken_s, 1) if taken_s > 0 else 0.0
        if progress is not None:
            fill = probe["filled"].latency
            progress(
                f"floor ({mode}): fills {probe['filled'].count:,}  p50 "
                f"{fill.percentile_ms(50):.2f} ms  p99 {fill.percentile_ms(99):.2f} ms"
            )
    finally:
        for sub in chain.subs:
            try:
                await sub.unsubscribe()
            except Exception:  # connection already closed
                pass
        await probe.close()
        await probe_bus.close()
        await bus.close()
        await server.stop()
    return run
