"""One intake per process: actors that follow the same stream share one ordered consumer,
each keeping its own start, order, backpressure and filter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from schemas.envelope import Envelope, encode, headers_for, new_envelope
from schemas.events import Heartbeat
from supervisors.actor import Actor, Context, Input, Ordered
from supervisors.bus import Bus
from supervisors.runner import ActorProcess


class Follower(Actor):
    """Records every heartbeat it handles; `gate` holds its handler to make it slow."""

    def __init__(self, name: str, prefix: str, *, start_seq: int = 0, mailbox: int = 1024) -> None:
        self.name = name
        self.prefix = prefix
        self.mailbox_size = mailbox
        self.start = start_seq
        self.seen: list[int] = []
        self.seqs: list[int] = []
        self.envs: list[Envelope[Heartbeat]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def inputs(self) -> Sequence[Input]:
        return (
            Ordered(self.prefix.upper(), f"{self.prefix}.ticks.>", self.on_beat, Heartbeat,
                    start_seq=(lambda: self.start) if self.start else None),
        )  # fmt: skip

    async def on_beat(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        await self.gate.wait()
        self.seen.append(env.data.seq)
        self.seqs.append(ctx.seq)
        self.envs.append(env)


async def publish(bus: Bus, prefix: str, seqs: range) -> None:
    for n in seqs:
        env = new_envelope(Heartbeat(seq=n), source="test")
        await bus.publish_raw(f"{prefix}.ticks.{n % 3}", encode(env), headers_for(env, f"b-{n}"))


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(15):
        while not check():
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running(bus: Bus, *actors: Actor) -> AsyncIterator[list[ActorProcess]]:
    processes = [ActorProcess(a, bus) for a in actors]
    tasks: list[asyncio.Task[None]] = []
    for process in processes:
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(process.run(ready.set)))
        await ready.wait()
    try:
        yield processes
    finally:
        for process in processes:
            process.request_stop()
        await asyncio.gather(*tasks)


async def test_actors_of_a_process_share_one_consumer_and_one_decode(bus: Bus, stream: str) -> None:
    a, b = Follower("a", stream), Follower("b", stream)
    async with running(bus, a, b):
        intake = bus.intakes.get(stream.upper(), f"{stream}.ticks.>")
        assert intake is not None and len(intake.members) == 2
        await publish(bus, stream, range(30))
        await eventually(lambda: len(a.seen) == 30 and len(b.seen) == 30)
        assert a.seen == b.seen == list(range(30))
        assert all(x is y for x, y in zip(a.envs, b.envs, strict=True)), "decoded once"
        assert intake.delivered == 30
    assert bus.intakes.get(stream.upper(), f"{stream}.ticks.>") is None, "closed with its last"


async def test_a_member_starting_before_the_intake_catches_up_then_joins_it(
    bus: Bus, stream: str
) -> None:
    live = Follower("live", stream)
    async with running(bus, live):
        await publish(bus, stream, range(20))
        await eventually(lambda: len(live.seen) == 20)
        late = Follower("late", stream, start_seq=live.seqs[5])
        async with running(bus, late):
            await publish(bus, stream, range(20, 40))
            await eventually(lambda: len(late.seen) == 35 and len(live.seen) == 40)
            assert late.seen == list(range(5, 40)), "every message from its start, once, in order"
            assert live.seen == list(range(40))
            member = next(m for m in bus.intakes.get(stream.upper(), f"{stream}.ticks.>")  # type: ignore[union-attr]
                          .members if m.label == "late")  # fmt: skip
            assert member.live and member.catch_ups == 1


async def test_a_slow_actor_does_not_hold_the_others_back_and_misses_nothing(
    bus: Bus, stream: str
) -> None:
    fast, slow = Follower("fast", stream), Follower("slow", stream, mailbox=4)
    async with running(bus, fast, slow) as processes:
        intake: Any = bus.intakes.get(stream.upper(), f"{stream}.ticks.>")
        member = next(m for m in intake.members if m.label == "slow")
        member.backlog_limit = 5  # past a mailbox of 4 and a backlog of 5: its own consumer
        slow.gate.clear()
        await publish(bus, stream, range(60))
        await eventually(lambda: len(fast.seen) == 60)
        assert slow.seen == [] and processes[1].status()["mailbox_depth"] <= 4
        slow.gate.set()
        await eventually(lambda: len(slow.seen) == 60)
        assert slow.seen == fast.seen == list(range(60))
        assert member.catch_ups >= 1 and member.live
