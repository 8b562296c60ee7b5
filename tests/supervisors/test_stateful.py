"""Stateful actors: snapshot plus replay rebuilds state exactly across crashes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

from schemas.envelope import Envelope
from schemas.events import Heartbeat
from supervisors.actor import Actor, Context, Durable, Input
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.errors import Crash
from supervisors.runner import ActorProcess
from supervisors.supervisor import Supervisor
from tests.supervisors.fakes import supervisor
from tests.supervisors.test_delivery import publish_inputs, read_all


class RunningTotal(Actor):
    """Emits the running total of input seqs; the total is its state."""

    snapshot_interval_s = 0.05

    def __init__(self, prefix: str, rng: random.Random, crash_p: float) -> None:
        self.name = "total"
        self.snapshot_key = f"{prefix}-total"
        self.prefix = prefix
        self.rng = rng
        self.crash_p = crash_p
        self.total = 0

    def inputs(self) -> Sequence[Input]:
        return (
            Durable(self.prefix.upper(), (f"{self.prefix}.in",), "total", self.on_input,
                    Heartbeat, ack_wait_s=2.0, batch=32, replay=True),
        )  # fmt: skip

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        if self.rng.random() < self.crash_p:
            raise Crash("random crash")
        self.total += env.data.seq
        ctx.emit(f"{self.prefix}.out", Heartbeat(seq=self.total))

    async def on_stored(self, outputs: int) -> None:
        if self.rng.random() < self.crash_p * 5:
            raise Crash("random crash after storing")

    def dump_state(self) -> dict[str, Any]:
        return {"total": self.total}

    def load_state(self, state: dict[str, Any]) -> None:
        self.total = int(state["total"])


async def test_a_stateful_actor_rebuilds_its_state_exactly_across_random_crashes(
    bus: Bus, stream: str
) -> None:
    n = 3000
    rng = random.Random(11)
    actors: list[RunningTotal] = []

    def start() -> ActorProcess:
        actors.append(RunningTotal(stream, rng, 0.003))
        return ActorProcess(actors[-1], bus)

    sup = Supervisor(supervisor("s", [ChildSpec("total", start)], max_restarts=10_000))
    task = asyncio.create_task(sup.run(lambda: None))
    await publish_inputs(bus, f"{stream}.in", n)

    async def out_count() -> int:
        info = await bus.js.stream_info(stream.upper(), subjects_filter=f"{stream}.out")
        return int((info.state.subjects or {}).get(f"{stream}.out", 0))

    async with asyncio.timeout(90):
        while await out_count() < n:
            await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    sup.request_stop()
    await task

    outputs = await read_all(bus, stream.upper(), f"{stream}.out")
    totals = [e.data.seq for e in outputs]
    expected = [k * (k + 1) // 2 for k in range(n)]  # running sums of 0..k
    assert totals == expected, "every running total once, in order"
    assert actors[-1].total == expected[-1]
    assert len(actors) > 3, "the test did crash the actor"
