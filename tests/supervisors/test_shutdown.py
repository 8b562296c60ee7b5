"""An actor's `on_stop` runs within its child's declared shutdown timeout."""

from __future__ import annotations

import asyncio
import time

from supervisors.actor import Actor
from supervisors.bus import Bus
from supervisors.runner import ActorProcess, actor_spec
from supervisors.supervisor import Supervisor
from tests.supervisors.fakes import supervisor, wait_for


class SlowToStop(Actor):
    """Its `on_stop` takes `stop_s`; `stopped` says whether it ran to the end."""

    name = "slow-to-stop"

    def __init__(self, stop_s: float) -> None:
        self.stop_s = stop_s
        self.stopped = False

    async def on_stop(self) -> None:
        await asyncio.sleep(self.stop_s)
        self.stopped = True


async def test_on_stop_may_use_a_shutdown_timeout_longer_than_five_seconds(bus: Bus) -> None:
    actor = SlowToStop(stop_s=5.5)
    sup = Supervisor(supervisor("s", [actor_spec(bus, lambda: actor, "slow", shutdown_s=10.0)]))
    ready = asyncio.Event()
    task = asyncio.create_task(sup.run(ready.set))
    await wait_for(ready.is_set, timeout=10)
    sup.request_stop()
    await task
    assert actor.stopped, "on_stop ran to its end within the declared 10s"
    assert sup.status().children[0].state == "stopped"


async def test_an_actor_ends_on_stop_itself_at_its_shutdown_timeout(bus: Bus) -> None:
    actor = SlowToStop(stop_s=30.0)
    proc = ActorProcess(actor, bus, shutdown_s=0.3)
    ready = asyncio.Event()
    task = asyncio.create_task(proc.run(ready.set))
    await wait_for(ready.is_set, timeout=10)
    began = time.monotonic()
    proc.request_stop()
    await task  # returns by itself: nobody cancels it
    took = time.monotonic() - began
    assert not actor.stopped
    assert took < 2.0, f"stopping took {took:.2f}s; the child declared 0.3s"
    assert proc.state == "stopped"
