"""The probe: a separate NATS connection that watches the outputs of each stage.

Latency of a stage = the probe's `time.time_ns()` when its callback runs for the first
copy of a message, minus the origin tick's envelope `ts` the message carries (`tick_ts`).
NATS routes a JetStream publish to core subscribers as it receives it, in parallel with
storing it, so the probe sees a message when its publisher has sent it. Copies are told
apart by `Nats-Msg-Id` (a retried publish reuses it), so a retry is never counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ops.bench.latency import LatencyRecorder
from schemas.envelope import HDR_MSG_ID

__all__ = ["Stage", "Probe"]


@dataclass(slots=True)
class Stage:
    """One observed output: its subject and how to read the origin tick's ts from a body."""

    name: str
    subject: str
    tick_ts: Callable[[bytes], int] | None = None  # None: count and size only
    latency: LatencyRecorder = field(init=False)
    seen: set[str] = field(default_factory=set)
    count: int = 0
    duplicates: int = 0
    bytes_total: int = 0

    def __post_init__(self) -> None:
        self.latency = LatencyRecorder(self.name)

    @property
    def mean_size(self) -> int:
        return round(self.bytes_total / self.count) if self.count else 0

    def observe(self, msg: Msg, now_ns: int) -> None:
        key = (msg.headers or {}).get(HDR_MSG_ID) if msg.headers else None
        if key is not None:
            if key in self.seen:
                self.duplicates += 1
                return
            self.seen.add(key)
        self.count += 1
        self.bytes_total += len(msg.data)
        if self.tick_ts is not None:
            self.latency.record_ns(now_ns - self.tick_ts(msg.data))


class Probe:
    """Subscribes to every stage's subject on `nc`; `close()` unsubscribes."""

    def __init__(self, nc: NatsClient, stages: Sequence[Stage]) -> None:
        self.nc = nc
        self.stages = {s.name: s for s in stages}
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        for stage in self.stages.values():
            self._subs.append(await self.nc.subscribe(stage.subject, cb=self._callback(stage)))
        await self.nc.flush()

    def _callback(self, stage: Stage) -> Callable[[Msg], Awaitable[None]]:
        async def on_msg(msg: Msg) -> None:
            stage.observe(msg, time.time_ns())

        return on_msg

    def __getitem__(self, name: str) -> Stage:
        return self.stages[name]

    async def close(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            try:
                await sub.unsubscribe()
            except Exception:  # connection already closed
                pass
