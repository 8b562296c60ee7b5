"""The pull feeder: every start opens an epoch on an inbox of its own; deliveries come in
stream order, and a stopped epoch delivers nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from supervisors.acks import parse_ack_subject
from supervisors.bus import Bus, ConsumerSettings, Msg
from supervisors.consumer import PullFeeder


async def _publish(bus: Bus, subject: str, n: int) -> None:
    for i in range(n):
        await bus.js.publish(subject, str(i).encode())


async def _wait(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_a_new_epoch_delivers_from_the_recreated_consumer_in_order_and_nothing_older(
    bus: Bus, stream: str
) -> None:
    name = stream.upper()
    settings = ConsumerSettings(ack_wait_s=30, max_ack_pending=1000)
    await bus.ensure_consumer(name, "feeder", [f"{stream}.>"], settings)
    await _publish(bus, f"{stream}.x", 40)
    seen: list[tuple[int, int]] = []  # (epoch at delivery, stream sequence)

    async def deliver(msg: Msg) -> None:
        seen.append((feeder.epoch, parse_ack_subject(msg.reply).stream_seq))

    feeder = PullFeeder(bus, name, "feeder", deliver, batch=8, heartbeat_s=0.5)
    await feeder.start()
    await _wait(lambda: len(seen) >= 8)
    await feeder.stop()
    first = list(seen)
    await asyncio.sleep(0.2)
    assert seen == first  # a stopped epoch delivers nothing more
    assert [s for _, s in first] == list(range(1, len(first) + 1))
    # As the bridge does: recreate the consumer at its ack floor (nothing acked), then start.
    await bus.js.delete_consumer(name, "feeder")
    await bus.ensure_consumer(name, "feeder", [f"{stream}.>"], settings)
    await feeder.start()
    watchdog = asyncio.create_task(feeder.watchdog())
    try:
        await _wait(lambda: len(seen) >= len(first) + 40)
    finally:
        await feeder.stop()
        await asyncio.wait({watchdog}, timeout=10)
    assert feeder.epoch == 2
    second = seen[len(first) :]
    assert second == [(2, s) for s in range(1, 41)]  # all of it, in order, from the floor
    assert watchdog.done() and watchdog.exception() is None  # ends with its epoch
