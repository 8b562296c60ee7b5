"""`on_stored` is where an actor makes its own writes durable once per batch: the runtime
calls it before it acks the batch and before it snapshots the state, live and in replay."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec

from schemas.envelope import Envelope
from schemas.events import Heartbeat
from schemas.names import STATE_BUCKET
from supervisors.actor import Actor, Context, Durable, Input
from supervisors.bus import Bus
from supervisors.runner import ActorProcess
from tests.supervisors.test_delivery import publish_inputs


class Seen(msgspec.Struct):
    seqs: int


class GroupCommitter(Actor):
    """Stages each input in its handler and "commits" the batch in `on_stored`, as the
    portfolio does with its ledger; counts snapshots taken while anything was staged."""

    snapshot_interval_s = 0.01
    state_type = Seen

    def __init__(self, prefix: str) -> None:
        self.name = "committer"
        self.snapshot_key = f"{prefix}-committer"
        self.prefix = prefix
        self.staged: list[int] = []
        self.committed: set[int] = set()
        self.snapshots = 0
        self.snapshots_ahead = 0

    def inputs(self) -> Sequence[Input]:
        return (
            Durable(self.prefix.upper(), (f"{self.prefix}.in",), "committer", self.on_input,
                    Heartbeat, batch=64, replay=True),
        )  # fmt: skip

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        self.staged.append(env.data.seq)

    async def on_stored(self, outputs: int) -> None:
        await asyncio.sleep(0)  # a durable write: the loop runs others meanwhile
        self.committed.update(self.staged)
        self.staged = []

    def dump_state(self) -> Seen:
        self.snapshots += 1
        self.snapshots_ahead += bool(self.staged)
        return Seen(len(self.committed))

    def load_state(self, state: Seen) -> None:
        pass


async def run(actor: GroupCommitter, bus: Bus, inputs: int) -> None:
    process = ActorProcess(actor, bus, flush_batch=32)
    task = asyncio.create_task(process.run(lambda: None))
    async with asyncio.timeout(30):
        while len(actor.committed) < inputs:
            await asyncio.sleep(0.01)
    process.request_stop()
    await asyncio.wait_for(task, 10)


async def test_no_snapshot_is_taken_ahead_of_what_on_stored_made_durable(
    bus: Bus, stream: str
) -> None:
    await publish_inputs(bus, f"{stream}.in", 300)
    live = GroupCommitter(stream)
    await run(live, bus, 300)
    assert live.snapshots > 0 and live.snapshots_ahead == 0

    # A long replay (the snapshot gone): snapshots every `flush_batch` inputs on the way.
    await (await bus.key_value(STATE_BUCKET)).delete(f"{stream}-committer")
    rebuilt = GroupCommitter(stream)
    await run(rebuilt, bus, 300)

    assert rebuilt.committed == set(range(300))
    assert rebuilt.snapshots > 300 // 32 and rebuilt.snapshots_ahead == 0
