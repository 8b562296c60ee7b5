"""The lease gate: a broker's stateful children run in one process only, and stop in time."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence

import msgspec
import pytest

from schemas.envelope import Envelope
from schemas.events import Heartbeat
from supervisors.actor import Actor, Context, Durable, Input
from supervisors.bus import Bus, Msg
from supervisors.errors import LeaseLost
from supervisors.lease import Lease, LeaseRecord
from supervisors.lease_gate import LeaseGate
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer, unique
from tests.supervisors.fakes import Family, supervisor, wait_for
from tests.supervisors.test_delivery import publish_inputs

TTL = 3.0  # the hard stop leaves TTL/6 before the record can lapse: room for a loaded machine


class Started:
    """A gate running in the background: its task and whether it reported ready."""

    def __init__(self, gate: LeaseGate, task: asyncio.Task[None], ready: asyncio.Event) -> None:
        self.gate, self.task, self.ready = gate, task, ready


@pytest.fixture
async def gates() -> AsyncIterator[Callable[[Bus, Family, str, str], Started]]:
    started: list[Started] = []

    def start(bus: Bus, fam: Family, bucket: str, owner: str) -> Started:
        spec = supervisor("owner:paper", [fam.spec("portfolio"), fam.spec("execution")],
                          broker="paper")  # fmt: skip
        lease = Lease("broker-paper", owner, TTL, bucket=bucket)
        gate = LeaseGate(spec, lease, bus.js)
        ready = asyncio.Event()
        s = Started(gate, asyncio.create_task(gate.run(ready.set)), ready)
        started.append(s)
        return s

    yield start
    for s in started:
        s.gate.request_stop()
        await asyncio.wait({s.task}, timeout=5)
        if not s.task.done():
            s.task.cancel()


def running(fam: Family) -> set[str]:
    up: set[str] = set()
    for event, name in fam.journal:
        (up.add if event == "start" else up.discard)(name)
    return up


async def test_the_owner_starts_its_children_before_it_reports_ready(
    bus: Bus, gates: Callable[..., Started]
) -> None:
    fam = Family()
    a = gates(bus, fam, unique("leases_"), "host-a:1:01A")
    async with asyncio.timeout(5):
        await a.ready.wait()
    assert running(fam) == {"portfolio", "execution"}
    status = a.gate.status()
    assert status.state == "running"
    assert status.figures["lease"]["held"] and status.figures["owner"] == "host-a:1:01A"
    assert [c.name for c in status.children] == ["portfolio", "execution"]
    wire = status.to_builtins()
    assert wire["owner"] == "host-a:1:01A" and wire["lease"]["key"] == "broker-paper"


async def test_a_standby_is_ready_at_once_names_the_owner_and_takes_over_when_it_stops(
    bus: Bus, gates: Callable[..., Started]
) -> None:
    bucket = unique("leases_")
    owner_fam, standby_fam = Family(), Family()
    a = gates(bus, owner_fam, bucket, "host-a:1:01A")
    await asyncio.wait_for(a.ready.wait(), 5)
    b = gates(bus, standby_fam, bucket, "host-b:2:01B")
    await asyncio.wait_for(b.ready.wait(), 5)
    status = b.gate.status()
    assert status.state == "standby" and status.figures["owner"] == "host-a:1:01A"
    assert {c.state for c in status.children} == {"standby"}
    assert standby_fam.journal == [], "a standby runs none of the stateful children"

    a.gate.request_stop()
    await asyncio.wait_for(a.task, 5)
    stopped_at = time.monotonic()
    assert running(owner_fam) == set()
    await wait_for(lambda: running(standby_fam) == {"portfolio", "execution"}, TTL)
    assert time.monotonic() - stopped_at < TTL, "a released lease is taken within a poll"
    assert b.gate.status().figures["owner"] == "host-b:2:01B"


async def test_a_cancelled_owner_leaves_no_leased_child_running(
    bus: Bus, gates: Callable[..., Started]
) -> None:
    fam = Family()
    a = gates(bus, fam, unique("leases_"), "host-a:1:01A")
    await asyncio.wait_for(a.ready.wait(), 5)
    a.task.cancel()
    await asyncio.gather(a.task, return_exceptions=True)
    assert running(fam) == set()


async def test_an_owner_whose_lease_was_taken_stops_its_children_at_once(
    bus: Bus, gates: Callable[..., Started]
) -> None:
    bucket = unique("leases_")
    fam = Family()
    a = gates(bus, fam, bucket, "host-a:1:01A")
    await asyncio.wait_for(a.ready.wait(), 5)
    kv = await bus.js.key_value(bucket)
    intruder = LeaseRecord(owner="host-b:2:01B", host="host-b", pid=2, ttl_s=TTL,
                           acquired_at=time.time(), renewed_at=time.time())  # fmt: skip
    await kv.put("broker-paper", msgspec.json.encode(intruder))
    await wait_for(lambda: running(fam) == set(), TTL / 3 + 0.5)
    await wait_for(lambda: a.gate.status().state == "standby", 2)
    assert a.gate.status().figures["owner"] == "host-b:2:01B"


async def test_an_owner_cut_off_from_nats_stops_its_children_before_its_lease_can_lapse(
    fresh_nats: NatsServer, gates: Callable[..., Started]
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    try:
        fam = Family()
        fam.ignore_stop.add("execution")  # this one is cancelled, not stopped gracefully
        a = gates(bus, fam, unique("leases_"), "host-a:1:01A")
        await asyncio.wait_for(a.ready.wait(), 5)
        lease = a.gate.lease
        await asyncio.sleep(TTL / 2)  # at least one renewal
        fresh_nats.stop()
        cut_off_at = time.monotonic()
        await wait_for(lambda: running(fam) == set(), TTL * 2)
        stopped_at = time.monotonic()
        last_renewal = lease.deadline - (lease.ttl_s - lease.margin_s)
        assert last_renewal <= cut_off_at
        assert stopped_at < last_renewal + TTL, "stopped before the record can lapse"
        assert not lease.held()
        # its children are down; the gate itself turns to standby a moment later
        await wait_for(lambda: a.gate.status().state == "standby", TTL)
        fresh_nats.start()
        await wait_for(lambda: running(fam) == {"portfolio", "execution"}, TTL * 4)
        assert lease.held(), "back in touch, it takes its lease again"
    finally:
        a.gate.request_stop()
        await asyncio.wait({a.task}, timeout=5)
        await bus.close()


class Echo(Actor):
    name = "echo"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: list[int] = []

    def inputs(self) -> Sequence[Input]:
        return (Durable(self.prefix.upper(), (f"{self.prefix}.in",), "echo", self.on_input,
                        Heartbeat, ack_wait_s=2.0),)  # fmt: skip

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        self.seen.append(env.data.seq)
        ctx.emit(f"{self.prefix}.out", Heartbeat(seq=env.data.seq))


async def test_a_guarded_actor_refuses_to_start_without_the_lease(bus: Bus, stream: str) -> None:
    process = ActorProcess(Echo(stream), bus, guard=lambda: False)
    with pytest.raises(LeaseLost, match="no longer holds the lease"):
        await process.run(lambda: None)


async def test_a_guarded_actor_handles_nothing_once_its_guard_turns_false(
    bus: Bus, stream: str
) -> None:
    holds = [True]
    actor = Echo(stream)
    process = ActorProcess(actor, bus, guard=lambda: holds[0])
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    await asyncio.wait_for(ready.wait(), 5)
    await publish_inputs(bus, f"{stream}.in", 3)
    await wait_for(lambda: len(actor.seen) == 3, 5)
    holds[0] = False
    await publish_inputs(bus, f"{stream}.in", 3)
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(task, 5)
    assert len(actor.seen) == 3, "no input handled after the guard turned false"


class Seen(msgspec.Struct):
    seen: list[int]


class Tally(Echo):
    """A stateful Echo: its state is the inputs it applied (snapshot plus replay)."""

    snapshot_interval_s = 0.05
    state_type = Seen

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self.snapshot_key = f"{prefix}-tally"

    def inputs(self) -> Sequence[Input]:
        return (Durable(self.prefix.upper(), (f"{self.prefix}.in",), "tally", self.on_input,
                        Heartbeat, ack_wait_s=30.0, replay=True),)  # fmt: skip

    def dump_state(self) -> Seen:
        return Seen(seen=list(self.seen))

    def load_state(self, state: Seen) -> None:
        self.seen = list(state.seen)


async def test_a_new_owner_fences_off_the_pull_requests_of_a_frozen_one(
    bus: Bus, stream: str
) -> None:
    first = Tally(stream)
    process = ActorProcess(first, bus, guard=lambda: True)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    await asyncio.wait_for(ready.wait(), 5)
    await publish_inputs(bus, f"{stream}.in", 3)
    await wait_for(lambda: len(first.seen) == 3, 5)
    process.request_stop()
    await asyncio.wait_for(task, 5)

    # A frozen owner: its pull request still waits on the consumer, and it never acks.
    frozen: list[Msg] = []

    async def hold(msg: Msg) -> None:
        frozen.append(msg)

    inbox = bus.nc.new_inbox()
    sub = await bus.nc.subscribe(inbox, cb=hold)
    request = json.dumps({"batch": 100, "expires": int(30e9)}).encode()
    await bus.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream.upper()}.tally", request, reply=inbox)
    await bus.nc.flush()

    second = Tally(stream)
    process = ActorProcess(second, bus, guard=lambda: True)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    await asyncio.wait_for(ready.wait(), 5)
    await publish_inputs(bus, f"{stream}.in", 3)
    try:
        await wait_for(lambda: len(second.seen) == 6, 5)
        assert second.seen == [0, 1, 2, 0, 1, 2], "the snapshot, then the new inputs, in order"
        delivered = [m for m in frozen if not (m.headers or {}).get("Status")]
        assert delivered == [], "nothing went to the old owner's waiting request"
    finally:
        process.request_stop()
        await asyncio.wait_for(task, 5)
        await sub.unsubscribe()
