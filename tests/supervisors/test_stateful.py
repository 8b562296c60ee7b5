"""Stateful actors: snapshot plus replay rebuilds state exactly across crashes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import msgspec
import pytest

from schemas.envelope import Envelope
from schemas.events import Heartbeat
from schemas.names import STATE_BUCKET
from supervisors.actor import Actor, Context, Durable, Input
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.errors import Crash, SnapshotUnreadable
from supervisors.runner import ActorProcess
from supervisors.snapshot import Snapshot, decode_snapshot, encode_snapshot
from supervisors.supervisor import Supervisor
from tests.supervisors.fakes import supervisor
from tests.supervisors.test_delivery import publish_inputs, read_all


class Total(msgspec.Struct):
    total: int


class RunningTotal(Actor):
    """Emits the running total of input seqs; the total is its state."""

    snapshot_interval_s = 0.05
    state_type = Total

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

    def dump_state(self) -> Total:
        return Total(self.total)

    def load_state(self, state: Total) -> None:
        self.total = state.total


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


async def test_an_unreadable_snapshot_is_ignored_and_the_state_rebuilt_from_the_stream(
    bus: Bus, stream: str
) -> None:
    n = 50
    kv = await bus.key_value(STATE_BUCKET)
    await kv.put(f"{stream}-total", b'{"seq": 40, "state": {"total": "not a number"}}')
    await publish_inputs(bus, f"{stream}.in", n)
    actor = RunningTotal(stream, random.Random(1), 0.0)
    sup = Supervisor(supervisor("s", [ChildSpec("total", lambda: ActorProcess(actor, bus))]))
    task = asyncio.create_task(sup.run(lambda: None))
    try:
        async with asyncio.timeout(30):
            while actor.total < n * (n - 1) // 2:
                await asyncio.sleep(0.05)
    finally:
        sup.request_stop()
        await task
    entry = await kv.get(f"{stream}-total")
    assert entry.value is not None
    saved = decode_snapshot(entry.value, Total)
    assert (saved.seq, saved.state.total) == (n, n * (n - 1) // 2), "replayed from seq 1"


def test_a_snapshot_keeps_the_json_shape_it_had_when_actors_stored_dicts() -> None:
    old = b'{"seq": 7, "state": {"total": 21}}'
    assert decode_snapshot(old, Total) == Snapshot(seq=7, state=Total(21))
    assert msgspec.json.decode(encode_snapshot(7, Total(21))) == msgspec.json.decode(old)
    with pytest.raises(SnapshotUnreadable, match=r"not a snapshot of Total: .*\$.state.total"):
        decode_snapshot(b'{"seq": 7, "state": {"total": "x"}}', Total)
