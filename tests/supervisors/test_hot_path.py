"""The hot path's shortcuts keep the runtime's behaviour: the publish window and early filtering."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from schemas.envelope import Envelope, encode, headers_for, new_envelope
from schemas.events import Heartbeat
from supervisors.actor import Actor, Context, Input, Ordered
from supervisors.bus import Bus
from supervisors.errors import PublishFailed
from supervisors.pubacks import PubAckWindow
from supervisors.runner import ActorProcess


def beat(n: int) -> tuple[bytes, dict[str, str]]:
    env = new_envelope(Heartbeat(seq=n), source="test")
    return encode(env), headers_for(env, f"beat-{n}")


async def test_the_window_resolves_every_publish_with_its_ack_and_spots_duplicates(
    bus: Bus, stream: str
) -> None:
    window = PubAckWindow(bus.nc, max_pending=3)  # smaller than the burst: publishers wait
    futures = []
    for n in range(20):
        body, headers = beat(n)
        futures.append(await window.publish(f"{stream}.w", body, headers, stall_s=5))
    acks = await asyncio.gather(*futures)
    assert [a.seq for a in acks] == list(range(1, 21))
    body, headers = beat(3)
    assert (await (await window.publish(f"{stream}.w", body, headers, 5))).duplicate
    assert window.pending == 0


async def test_a_publish_to_no_stream_fails_through_wait_acks(bus: Bus) -> None:
    body, headers = beat(1)
    future = await bus.publish_pipelined("nostream.at.all", body, headers)
    with pytest.raises(PublishFailed):
        await bus.wait_acks([("nostream.at.all", future)])


class Picky(Actor):
    """Handles only `<prefix>.ticks.keep`; `gate` holds its handler to keep it busy."""

    def __init__(self, prefix: str) -> None:
        self.name = "picky"
        self.prefix = prefix
        self.seen: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def inputs(self) -> Sequence[Input]:
        return (
            Ordered(self.prefix.upper(), f"{self.prefix}.ticks.*", self.on_tick, Heartbeat,
                    accept=lambda subject: subject.endswith(".keep")),
        )  # fmt: skip

    async def on_tick(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        await self.gate.wait()
        self.seen.append(env.data.seq)


async def publish_ticks(bus: Bus, stream: str, seqs: range) -> None:
    for n in seqs:
        body, headers = beat(n)
        await bus.publish_raw(f"{stream}.ticks.{'keep' if n % 4 == 0 else 'drop'}", body, headers)


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.02)


async def test_refused_ticks_skip_the_mailbox_only_while_the_actor_is_idle(
    bus: Bus, stream: str
) -> None:
    actor = Picky(stream)
    process = ActorProcess(actor, bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    await ready.wait()
    try:
        await publish_ticks(bus, stream, range(40))
        stats = process.stats
        await eventually(lambda: stats.skipped + stats.processed == 40)
        assert actor.seen == list(range(0, 40, 4))
        assert stats.skipped > 0
        skipped = stats.skipped
        actor.gate.clear()  # the next kept tick holds the handler: the actor is busy
        await publish_ticks(bus, stream, range(40, 48))
        await eventually(lambda: process.status()["mailbox_depth"] >= 1)
        assert stats.skipped == skipped  # busy: refused ticks wait their turn in the mailbox
        actor.gate.set()
        await eventually(lambda: stats.skipped + stats.processed == 48)
        assert actor.seen == list(range(0, 48, 4))
    finally:
        process.request_stop()
        await task


class Tapped(Picky):
    """Picky, with a tap that records the stream sequence of every message delivered."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self.tapped: list[int] = []

    def inputs(self) -> Sequence[Input]:
        return (
            Ordered(self.prefix.upper(), f"{self.prefix}.ticks.*", self.on_tick, Heartbeat,
                    accept=lambda subject: subject.endswith(".keep"),
                    tap=lambda msg: self.tapped.append(msg.metadata.sequence.stream)),
        )  # fmt: skip


async def test_a_tap_sees_every_delivered_message_in_order_whether_busy_or_refused(
    bus: Bus, stream: str
) -> None:
    actor = Tapped(stream)
    process = ActorProcess(actor, bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    await ready.wait()
    try:
        first = await bus.stream_last_seq(stream.upper()) + 1
        actor.gate.clear()  # busy from the first kept message on
        await publish_ticks(bus, stream, range(12))
        await eventually(lambda: len(actor.tapped) == 12)
        assert actor.tapped == list(range(first, first + 12))
        assert actor.seen == [], "the tap ran before any handler, outside the mailbox"
        actor.gate.set()
        await eventually(lambda: actor.seen == [0, 4, 8])
    finally:
        process.request_stop()
        await task
