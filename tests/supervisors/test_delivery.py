"""Delivery guarantees of the actor runtime against a real nats-server."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence

import msgspec

from schemas.envelope import Envelope, decode_as, new_envelope
from schemas.events import DeadLetter, Heartbeat
from supervisors.actor import Actor, Context, Durable, Input
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.errors import Crash
from supervisors.runner import ActorProcess
from supervisors.supervisor import Supervisor
from tests.supervisors.fakes import supervisor, wait_for


async def publish_inputs(bus: Bus, subject: str, n: int) -> list[str]:
    ids = []
    for start in range(0, n, 500):
        pending = []
        for seq in range(start, min(n, start + 500)):
            env = new_envelope(Heartbeat(seq=seq), source="test")
            ids.append(env.id)
            from schemas.envelope import encode, headers_for

            pending.append(
                (subject, await bus.publish_pipelined(subject, encode(env), headers_for(env)))
            )
        await bus.wait_acks(pending)
    return ids


async def read_all(bus: Bus, stream: str, subject: str) -> list[Envelope[Heartbeat]]:
    sub = await bus.js.pull_subscribe(subject, stream=stream)
    out = []
    try:
        while True:
            try:
                msgs = await sub.fetch(1000, timeout=0.5)
            except TimeoutError:
                break
            for m in msgs:
                out.append(decode_as(m.data, Heartbeat))
                await m.ack()
    finally:
        await sub.unsubscribe()
    return out


class Relay(Actor):
    """Copies each input to `<prefix>.out`; crashes at random, before and after storing."""

    def __init__(self, prefix: str, rng: random.Random, crash_p: float) -> None:
        self.name = "relay"
        self.prefix = prefix
        self.rng = rng
        self.crash_p = crash_p

    def inputs(self) -> Sequence[Input]:
        return (
            Durable(self.prefix.upper(), (f"{self.prefix}.in",), "relay", self.on_input,
                    Heartbeat, ack_wait_s=2.0, batch=64),
        )  # fmt: skip

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        if self.rng.random() < self.crash_p:
            raise Crash("random crash before the outputs are stored")
        ctx.emit(f"{self.prefix}.out", Heartbeat(seq=env.data.seq))

    async def on_stored(self, outputs: int) -> None:
        if self.rng.random() < self.crash_p * 10:
            raise Crash("random crash after storing, before acking")


async def test_an_actor_crashing_at_random_loses_no_message_and_duplicates_none(
    bus: Bus, stream: str
) -> None:
    n = 10_000
    rng = random.Random(7)
    sup = Supervisor(
        supervisor(
            "s",
            [ChildSpec("relay", lambda: ActorProcess(Relay(stream, rng, 0.0015), bus))],
            max_restarts=10_000,
            period_s=1.0,
        )
    )
    task = asyncio.create_task(sup.run(lambda: None))
    ids = await publish_inputs(bus, f"{stream}.in", n)

    async def out_count() -> int:
        info = await bus.js.stream_info(stream.upper(), subjects_filter=f"{stream}.out")
        return int((info.state.subjects or {}).get(f"{stream}.out", 0))

    async with asyncio.timeout(90):
        while await out_count() < n:
            await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # anything late would show up as a duplicate now
    sup.request_stop()
    await task

    outputs = await read_all(bus, stream.upper(), f"{stream}.out")
    causes = [e.causation_id for e in outputs]
    assert len(outputs) == n, "no duplicate stored"
    assert len(set(causes)) == n
    assert set(causes) == set(ids), "every input produced exactly its output"
    assert sorted(e.data.seq for e in outputs) == list(range(n))
    assert sup.status().children[0].restarts > 5, "the test did crash the actor"


class Picky(Actor):
    name = "picky"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: list[int] = []

    def inputs(self) -> Sequence[Input]:
        return (
            Durable(self.prefix.upper(), (f"{self.prefix}.in",), "picky", self.on_input,
                    Heartbeat, max_deliver=3, ack_wait_s=2.0),
        )  # fmt: skip

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        self.seen.append(env.data.seq)
        if env.data.seq == 13:
            raise ValueError("seq 13 is unlucky")
        ctx.emit(f"{self.prefix}.out", Heartbeat(seq=env.data.seq))


async def dead_letters(bus: Bus, subject: str) -> list[DeadLetter]:
    out: list[DeadLetter] = []
    sub = await bus.js.pull_subscribe(f"dlq.{subject}", stream="DLQ")
    try:
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                break
            for m in msgs:
                out.append(decode_as(m.data, DeadLetter).data)
                await m.ack()
    finally:
        await sub.unsubscribe()
    return out


async def test_a_poison_message_goes_to_the_dlq_with_its_error_and_the_rest_flows(
    bus: Bus, stream: str
) -> None:
    actor = Picky(stream)
    proc = ActorProcess(actor, bus)
    task = asyncio.create_task(proc.run(lambda: None))
    subject = f"{stream}.in"
    await bus.publish_raw(
        subject, b'{"not": "an envelope"}', {"Nats-Msg-Id": "junk-1", "X-Origin": "t"}
    )
    await publish_inputs(bus, subject, 20)
    # 19 relayed + 2 dead letters stored
    await wait_for(lambda: proc.stats.dead_lettered == 2 and proc.stats.outputs == 21, timeout=15)
    proc.request_stop()
    await task

    letters = await dead_letters(bus, subject)
    assert len(letters) == 2
    junk = next(d for d in letters if d.error_type == "DecodeError")
    assert junk.attempts == 1 and junk.actor == "picky"
    assert junk.payload == '{"not": "an envelope"}'
    assert junk.headers["X-Origin"] == "t" and junk.headers["Nats-Msg-Id"] == "junk-1"
    unlucky = next(d for d in letters if d.error_type == "ValueError")
    assert unlucky.error == "seq 13 is unlucky"
    assert unlucky.attempts == 3, "retried up to max_deliver before dead-lettering"
    assert json.loads(unlucky.payload)["data"]["seq"] == 13
    assert actor.seen.count(13) == 3


class Refused(ValueError):
    """What domain code raises for input it will never accept."""

    retriable = False


class Unavailable(Exception):
    """What a client raises for a store that is briefly away."""

    retriable = True


class Limit(msgspec.Struct):
    qty: int


class Fussy(Picky):
    """Fails seq 3 with a non-retriable error, 5 with a validation error, 7 with a
    retriable one and 9 with an exception that says nothing about retrying."""

    name = "fussy"

    async def on_input(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        self.seen.append(env.data.seq)
        if env.data.seq == 3:
            raise Refused("seq 3 is refused")
        if env.data.seq == 5:
            msgspec.convert({"qty": "five"}, Limit)
        if env.data.seq == 7:
            raise Unavailable("the store is away")
        if env.data.seq == 9:
            raise KeyError("nine")
        ctx.emit(f"{self.prefix}.out", Heartbeat(seq=env.data.seq))


async def test_an_input_that_cannot_succeed_is_dead_lettered_on_its_first_failure(
    bus: Bus, stream: str
) -> None:
    actor = Fussy(stream)
    proc = ActorProcess(actor, bus)
    task = asyncio.create_task(proc.run(lambda: None))
    subject = f"{stream}.in"
    await publish_inputs(bus, subject, 12)
    await wait_for(lambda: proc.stats.dead_lettered == 4 and proc.stats.outputs == 12, timeout=15)
    proc.request_stop()
    await task

    letters = {d.error_type: d for d in await dead_letters(bus, subject)}
    assert sorted(letters) == ["KeyError", "Refused", "Unavailable", "ValidationError"]
    assert letters["Refused"].attempts == 1, "retriable = False: no retry"
    assert letters["ValidationError"].attempts == 1, "a validation error is never retried"
    assert letters["Unavailable"].attempts == 3, "retriable = True: up to max_deliver"
    assert letters["KeyError"].attempts == 3, "an unknown error is retried as before"
    assert [actor.seen.count(seq) for seq in (3, 5, 7, 9)] == [1, 1, 3, 3]


async def test_a_graceful_stop_leaves_no_task_running(bus: Bus, stream: str) -> None:
    await publish_inputs(bus, f"{stream}.in", 50)
    before = asyncio.all_tasks()  # the connection's own tasks are not the tree's
    sup = Supervisor(
        supervisor("s", [ChildSpec("picky", lambda: ActorProcess(Picky(stream), bus))])
    )
    task = asyncio.create_task(sup.run(lambda: None))
    await asyncio.sleep(0.3)
    sup.request_stop()
    await task
    await asyncio.sleep(0.05)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    leftover.discard(asyncio.current_task())
    assert leftover == set(), [t.get_name() for t in leftover]
