"""The broker lease against a real nats-server: take, renew, conflict, lapse, release."""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import msgspec
import pytest

from supervisors.bus import Bus
from supervisors.lease import Lease, LeaseRecord, open_lease_bucket, process_owner_id
from tests.conftest import unique

TTL = 1.5


async def lease(bus: Bus, bucket: str, owner: str, ttl_s: float = TTL) -> Lease:
    result = Lease("broker-paper", owner, ttl_s, bucket=bucket)
    await result.open(bus.js)
    return result


@pytest.fixture
def bucket() -> str:
    return unique("leases_")


async def test_the_first_contender_takes_the_lease_and_the_next_learns_who_holds_it(
    bus: Bus, bucket: str
) -> None:
    a = await lease(bus, bucket, "host-a:100:01A")
    b = await lease(bus, bucket, "host-b:200:01B")
    assert await a.try_acquire()
    assert a.held()
    assert not await b.try_acquire()
    assert not b.held()
    assert b.holder is not None and b.holder.owner == "host-a:100:01A"
    assert b.holder.host == "host-a" and b.holder.pid == 100


async def test_a_renewal_moves_the_deadline_and_keeps_the_margin_before_expiry(
    bus: Bus, bucket: str
) -> None:
    a = await lease(bus, bucket, "host-a:100:01A")
    before = time.monotonic()
    assert await a.try_acquire()
    first = a.deadline
    assert before + TTL - a.margin_s <= first <= time.monotonic() + TTL - a.margin_s
    await asyncio.sleep(0.2)
    assert await a.renew()
    assert a.deadline > first + 0.15
    assert a.renew_every_s == pytest.approx(TTL / 3)


async def test_a_renewal_fails_once_another_process_has_taken_the_key(
    bus: Bus, bucket: str
) -> None:
    a = await lease(bus, bucket, "host-a:100:01A")
    assert await a.try_acquire()
    kv = await bus.js.key_value(bucket)
    intruder = LeaseRecord(owner="host-b:200:01B", host="host-b", pid=200, ttl_s=TTL,
                           acquired_at=time.time(), renewed_at=time.time())  # fmt: skip
    await kv.put("broker-paper", msgspec.json.encode(intruder))
    assert not await a.renew(), "compare-and-set on the revision refuses the renewal"
    assert not a.held()
    assert a.holder is not None and a.holder.owner == "host-b:200:01B"


async def test_a_renewal_stored_although_its_reply_was_lost_does_not_cost_the_lease(
    bus: Bus, bucket: str
) -> None:
    a = await lease(bus, bucket, "host-a:100:01A")
    assert await a.try_acquire()
    kv = await bus.js.key_value(bucket)
    entry = await kv.get("broker-paper")
    assert entry.value is not None
    await kv.update("broker-paper", entry.value, last=entry.revision)  # the "lost" renewal
    deadline = a.deadline
    assert await a.renew(), "the record is still ours, at a later revision"
    assert a.held() and a.deadline > deadline


async def test_two_contenders_at_once_never_both_win(bus: Bus, bucket: str) -> None:
    contenders = [await lease(bus, bucket, f"host-{n}:{n}:01X") for n in range(8)]
    won = await asyncio.gather(*(c.try_acquire() for c in contenders))
    assert sum(won) == 1


async def test_a_lapsed_lease_is_taken_over_only_after_the_holders_deadline(
    bus: Bus, bucket: str
) -> None:
    a = await lease(bus, bucket, "host-a:100:01A")
    b = await lease(bus, bucket, "host-b:200:01B")
    assert await a.try_acquire()
    # a stops renewing (it died, or it is cut off): b polls until the record lapses.
    async with asyncio.timeout(TTL * 4):
        while not await b.try_acquire():
            await asyncio.sleep(0.05)
    taken_at = time.monotonic()
    assert taken_at >= a.deadline + a.margin_s * 0.9, "a had stopped by its deadline"
    assert not a.held()
    assert not await a.renew(), "the old holder cannot renew what lapsed"
    assert b.held()


async def test_a_released_lease_is_taken_at_once(bus: Bus, bucket: str) -> None:
    a = await lease(bus, bucket, "host-a:100:01A")
    b = await lease(bus, bucket, "host-b:200:01B")
    assert await a.try_acquire()
    await a.release()
    assert not a.held()
    assert await b.try_acquire()
    await a.release()  # safe twice, and it leaves b's record alone
    assert await b.renew()


async def test_a_holder_on_this_host_whose_process_is_gone_is_taken_over_at_once(
    bus: Bus, bucket: str
) -> None:
    host = socket.gethostname()
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "")
    await dead.wait()
    ghost = await lease(bus, bucket, f"{host}:{dead.pid}:01G")
    assert await ghost.try_acquire()
    successor = await lease(bus, bucket, process_owner_id())
    assert await successor.try_acquire(), "a pid that no longer exists holds nothing"
    await successor.release()

    alive = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(30)"
    )
    try:
        holder = await lease(bus, bucket, f"{host}:{alive.pid}:01L")
        assert await holder.try_acquire()
        contender = await lease(bus, bucket, process_owner_id())
        assert not await contender.try_acquire(), "a live process on this host keeps its lease"
    finally:
        alive.kill()
        await alive.wait()


async def test_the_ttl_of_an_existing_bucket_wins_over_the_configured_one(
    bus: Bus, bucket: str
) -> None:
    _, ttl = await open_lease_bucket(bus.js, bucket, 2.0)
    assert ttl == 2.0
    _, ttl = await open_lease_bucket(bus.js, bucket, 7.0)
    assert ttl == 2.0, "the server enforces the bucket's max age; holders must agree with it"
    late = await lease(bus, bucket, "host-a:100:01A", ttl_s=7.0)
    assert late.ttl_s == 2.0
