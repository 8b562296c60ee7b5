"""A draining actor handles what its consumers hold before a graceful stop; others do not."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from schemas.envelope import Envelope
from schemas.events import Heartbeat
from supervisors.actor import Actor, Context, Durable, Input
from supervisors.bus import Bus
from supervisors.runner import ActorProcess
from tests.supervisors.fakes import wait_for
from tests.supervisors.test_delivery import publish_inputs


class Slow(Actor):
    """Takes 2 ms an input, so a stop requested right after a burst finds most still pending."""

    name = "slow"

    def __init__(self, prefix: str, drain_s: float, durable: str = "slow") -> None:
        self.prefix = prefix
        self.durable = durable
        self.drain_on_stop_s = drain_s
        self.seen: list[int] = []

    def inputs(self) -> Sequence[Input]:
        return (Durable(self.prefix.upper(), (f"{self.prefix}.in",), self.durable,
                        self.on_input, Heartbeat, batch=8, max_ack_pending=16),)  # fmt: skip

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        await asyncio.sleep(0.002)
        self.seen.append(env.data.seq)


async def _stop_after_burst(bus: Bus, actor: Slow, subject: str, n: int) -> None:
    process = ActorProcess(actor, bus, shutdown_s=20.0)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    await asyncio.wait_for(ready.wait(), 10)
    await publish_inputs(bus, subject, n)
    await wait_for(lambda: len(actor.seen) > 0, 10)
    process.request_stop()
    await asyncio.wait_for(task, 30)


async def test_a_draining_actor_handles_every_stored_input_before_it_stops(
    bus: Bus, stream: str
) -> None:
    actor = Slow(stream, drain_s=10.0)
    await _stop_after_burst(bus, actor, f"{stream}.in", 300)
    assert sorted(actor.seen) == list(range(300)), "each stored input handled, once"


async def test_an_actor_that_does_not_drain_hands_pending_inputs_back(
    bus: Bus, stream: str
) -> None:
    actor = Slow(stream, drain_s=0.0)
    await _stop_after_burst(bus, actor, f"{stream}.in", 300)
    assert 0 < len(actor.seen) < 300, "stops at once; the rest waits for the next start"
    successor = Slow(stream, drain_s=10.0)  # the same durable consumer, the next start
    process = ActorProcess(successor, bus, shutdown_s=20.0)
    task = asyncio.create_task(process.run(lambda: None))
    await wait_for(lambda: len(actor.seen) + len(successor.seen) >= 300, 20)
    process.request_stop()
    await asyncio.wait_for(task, 30)
    assert sorted(actor.seen + successor.seen) == list(range(300)), "nothing lost or doubled"
