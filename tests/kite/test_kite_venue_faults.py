"""The Kite venue against the simulator, through the official client, under every fault:
each order at Kite exactly once by tag, and our events agree with Kite's book."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from actors.kite.venue import KiteVenueConfig
from schemas.enums import OrderFailReason, OrderStatus, OrderType
from schemas.events import OrderAccepted, OrderCancelled, OrderFailed, OrderFilled
from tests.kite.kite_harness import (
    assert_ledger_matches_kite,
    driven,
    market_order,
    pending_faults,
    tags_at_kite,
)
from tests.ops.sim.conftest import RunningSim


async def test_orders_carry_their_tags_and_market_protection_and_fill_at_kite(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        places = [market_order("HDFCBANK"), market_order("SBIN", 3), market_order("INFY")]
        for p in places:
            assert await d.place(p) == []  # booked: the worker places it
        await d.until(lambda: all(d.closed(p.order.client_order_id) for p in places))
        for p in places:
            (fill,) = d.of(OrderFilled, p.order.client_order_id)
            assert fill.final and fill.quantity == p.order.quantity and fill.price > 0
            assert fill.tag == d.venue.tag_for(p.order.client_order_id) and len(fill.tag) == 20
            (acc,) = d.of(OrderAccepted, p.order.client_order_id)
            assert acc.broker_order_id == fill.broker_order_id
        views = {o["tag"]: o for o in kite_sim.client().orders()}
        assert {v["status"] for v in views.values()} == {"COMPLETE"}
        assert d.venue.counts["placements"] == 3
        assert_ledger_matches_kite(d, kite_sim)


async def test_nothing_goes_to_kite_before_the_actor_stored_the_order(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        await d.until(lambda: d.venue.started)
        p = market_order()
        assert await d.venue.execute(p) == []
        for _ in range(5):
            await d.venue.step()
        assert d.venue.counts["placements"] == 0 and tags_at_kite(kite_sim) == {}
        d.venue.release()
        await d.until(lambda: d.closed(p.order.client_order_id))
        assert d.venue.counts["placements"] == 1


async def test_a_resting_limit_order_is_cancelled_at_kite(kite_sim: RunningSim) -> None:
    from actors.execution.venue import Cancel

    async with driven(kite_sim.client(timeout=2.0)) as d:
        p = market_order("TCS", order_type=OrderType.LIMIT, limit=Decimal("1.00"))
        await d.place(p)
        coid = p.order.client_order_id
        await d.until(lambda: bool(d.of(OrderAccepted, coid)))
        await d.venue.execute(Cancel(client_order_id=coid, reason="expired", ts_ns=2))
        await d.until(lambda: d.closed(coid))
        (cancelled,) = d.of(OrderCancelled, coid)
        assert cancelled.filled_quantity == 0 and "cancelled at Kite" in cancelled.reason
        assert_ledger_matches_kite(d, kite_sim)


async def test_a_resting_limit_order_modified_through_the_client_fills_at_kite(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        p = market_order("WIPRO", order_type=OrderType.LIMIT, limit=Decimal("1.00"))
        await d.place(p)
        coid = p.order.client_order_id
        await d.until(lambda: bool(d.of(OrderAccepted, coid)))
        assert d.venue.modify(coid, price=Decimal("100000.00"))  # far through the market
        await d.until(lambda: d.closed(coid))
        (fill,) = d.of(OrderFilled, coid)
        assert fill.final and fill.price < Decimal("100000.00")
        assert d.venue.counts["modifies"] == 1
        assert not d.venue.modify(coid, price=Decimal("2.00"))  # closed: nothing to change
        assert_ledger_matches_kite(d, kite_sim)


async def test_a_5xx_on_placement_is_looked_up_by_tag_before_it_is_sent_again(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        await d.until(lambda: d.venue.started)
        kite_sim.faults(http_5xx=1)
        p = market_order()
        await d.place(p)
        await d.until(lambda: d.closed(p.order.client_order_id))
        assert pending_faults(kite_sim)["http_5xx"] == 0
        assert d.venue.counts["place_ambiguous"] == 1
        assert d.venue.counts["lookups"] >= 1 and d.venue.counts["placements"] == 2
        assert tags_at_kite(kite_sim)[d.venue.tag_for(p.order.client_order_id)] == 1
        assert_ledger_matches_kite(d, kite_sim)


async def test_a_429_backs_off_and_retries_and_places_once(kite_sim: RunningSim) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        await d.until(lambda: d.venue.started)
        kite_sim.faults(http_429=2)
        p = market_order()
        await d.place(p)
        await d.until(lambda: d.closed(p.order.client_order_id))
        assert d.venue.counts["place_retry"] == 2 and d.venue.counts["placements"] == 3
        assert d.venue.halted_reason is None  # a 429 is Kite's pacing, not an outage
        assert_ledger_matches_kite(d, kite_sim)


async def test_a_timeout_after_kite_placed_the_order_adopts_it_and_never_resends(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=1.0)) as d:
        await d.until(lambda: d.venue.started)
        kite_sim.faults(timeout_after_place=1, timeout_s=3)
        p = market_order("ICICIBANK", 2)
        await d.place(p)
        coid = p.order.client_order_id
        await d.until(lambda: d.closed(coid))
        assert d.venue.counts["place_ambiguous"] == 1 and d.venue.counts["adopted"] == 1
        assert d.venue.counts["placements"] == 1
        (fill,) = d.of(OrderFilled, coid)
        assert fill.quantity == p.order.quantity
        assert_ledger_matches_kite(d, kite_sim)


async def test_a_venue_started_after_a_crash_adopts_what_the_dead_one_placed(
    kite_sim: RunningSim,
) -> None:
    """The first venue dies while Kite's answer is in flight; the signal comes again."""
    p = market_order("AXISBANK")
    coid = p.order.client_order_id
    async with driven(kite_sim.client(timeout=30.0)) as first:
        await first.until(lambda: first.venue.started)
        kite_sim.faults(timeout_after_place=1, timeout_s=5)
        await first.place(p)
        tag = first.venue.tag_for(coid)
        await first.until(lambda: tags_at_kite(kite_sim)[tag] == 1, every_s=0.3)
        snapshot = first.venue.orders_state()
    assert [o.phase for o in snapshot] == ["sent"]
    async with driven(kite_sim.client(timeout=2.0)) as second:
        await second.place(p)  # redelivered: the tag is at Kite, so it is adopted
        await second.until(lambda: second.closed(coid))
        assert second.venue.counts["placements"] == 0 and second.venue.counts["adopted"] == 1
        assert tags_at_kite(kite_sim)[tag] == 1
        assert [type(e) for e in second.events] == [OrderAccepted, OrderFilled]
    async with driven(kite_sim.client(timeout=2.0)) as third:  # from the snapshot instead
        third.venue.restore_orders(snapshot)
        await third.until(lambda: third.closed(coid))
        assert third.venue.counts["placements"] == 0 and tags_at_kite(kite_sim)[tag] == 1


async def test_a_redelivered_signal_is_looked_up_even_when_the_venue_started_clean(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        await d.until(lambda: d.venue.started)
        p = market_order()
        await d.place(p, redelivered=True)
        await d.until(lambda: d.closed(p.order.client_order_id))
        assert d.venue.counts["lookups"] == 1 and d.venue.counts["placements"] == 1


async def test_a_dropped_or_stalled_ticker_does_not_lose_an_order_update(
    kite_sim: RunningSim,
) -> None:
    """Order updates are read by polling when the ticker is gone or silent."""
    async with driven(kite_sim.client(timeout=2.0)) as d:
        kite_sim.faults(drop_ws=True)
        first = [market_order() for _ in range(3)]
        for p in first:
            await d.place(p)
        kite_sim.faults(stall_ws=3)
        second = [market_order("SBIN") for _ in range(3)]
        for p in second:
            await d.place(p)
        await d.until(lambda: all(d.closed(p.order.client_order_id) for p in first + second))
        assert len(d.of(OrderFilled)) == 6
        assert_ledger_matches_kite(d, kite_sim)


async def test_an_order_update_from_the_ticker_wakes_the_worker(kite_sim: RunningSim) -> None:
    slow = KiteVenueConfig(timeout_s=2.0, poll_s=3600.0, idle_poll_s=3600.0)
    async with driven(kite_sim.client(timeout=2.0), slow) as d:
        await d.until(lambda: d.venue.started)
        p = market_order()
        await d.place(p)
        coid = p.order.client_order_id
        await d.until(lambda: d.venue.counts["placements"] == 1)
        await asyncio.to_thread(d.venue.on_order_update, {"status": "COMPLETE"})
        await d.until(lambda: d.closed(coid))


async def test_an_expired_session_halts_zerodha_and_fails_what_it_cannot_send(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        await d.until(lambda: d.venue.started)
        kite_sim.faults(expire_token=True)
        p = market_order()
        await d.place(p)
        await d.until(lambda: d.closed(p.order.client_order_id))
        (failed,) = d.of(OrderFailed)
        assert failed.reason is OrderFailReason.BROKER_UNAVAILABLE
        assert "TokenException" in failed.detail
        assert d.halts and "alpha-panda zerodha login" in d.halts[0]
        assert d.venue.stats()["healthy"] is False
        assert kite_sim.env["KITE_ACCESS_TOKEN"] not in repr(d.venue.stats())
        relogin = kite_sim.client()  # the next day's login: a new token
        session = relogin.generate_session(kite_sim.env["KITE_REQUEST_TOKEN"],
                                           api_secret=kite_sim.env["KITE_API_SECRET"])  # fmt: skip
        relogin.set_access_token(session["access_token"])
        assert relogin.orders() == []  # nothing was placed with the expired session


async def test_kite_down_halts_zerodha_and_no_order_is_left_unaccounted(
    kite_sim: RunningSim,
) -> None:
    config = KiteVenueConfig(timeout_s=1.0, poll_s=0.25, idle_poll_s=0.3, backoff_min_s=0.05,
                             backoff_max_s=0.2, send_deadline_s=2.0, halt_after_failures=3)  # fmt: skip
    async with driven(kite_sim.client(timeout=1.0), config) as d:
        await d.until(lambda: d.venue.started)
        kite_sim.process.terminate()
        kite_sim.process.wait(10)
        p = market_order()
        await d.place(p)
        await d.until(lambda: bool(d.halts) and d.closed(p.order.client_order_id))
        assert "Kite unreachable" in d.halts[0]
        (failed,) = d.of(OrderFailed)
        assert failed.reason is OrderFailReason.BROKER_UNAVAILABLE
        assert "not sent within" in failed.detail
        assert d.venue.order(p.order.client_order_id).state is OrderStatus.REJECTED  # type: ignore[union-attr]


async def test_kites_order_limits_are_enforced_before_sending(kite_sim: RunningSim) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        places = [market_order() for _ in range(12)]
        answers = [await d.place(p) for p in places]
        refused = [a[0] for a in answers if a]
        assert len(refused) == 2
        assert all(isinstance(e, OrderFailed) and e.reason is OrderFailReason.RATE_LIMITED
                   for e in refused)  # fmt: skip
        assert "orders_per_second" in refused[0].detail  # type: ignore[attr-defined]
        assert d.venue.stats()["order_limits"]["refused"] == {"orders_per_second": 2}
        await d.until(lambda: all(d.closed(p.order.client_order_id) for p in places))
        assert sum(tags_at_kite(kite_sim).values()) == 10
        assert_ledger_matches_kite(d, kite_sim)


async def test_an_order_kite_refuses_fails_with_kites_message(kite_sim: RunningSim) -> None:
    async with driven(kite_sim.client(timeout=2.0)) as d:
        p = market_order(order_type=OrderType.LIMIT, limit=Decimal("1000.03"))  # off the grid
        await d.place(p)
        await d.until(lambda: d.closed(p.order.client_order_id))
        (failed,) = d.of(OrderFailed)
        assert failed.reason is OrderFailReason.BROKER_REJECTED
        assert "InputException" in failed.detail and "tick" in failed.detail
        assert tags_at_kite(kite_sim) == {}


async def test_a_signal_arriving_after_the_start_read_is_adopted_if_kite_holds_its_tag(
    kite_sim: RunningSim,
) -> None:
    """A restarted venue read Kite's book before the signal came again: no second order."""
    p = market_order("KOTAKBANK")
    async with driven(kite_sim.client(timeout=2.0)) as first:
        await first.place(p)
        await first.until(lambda: first.closed(p.order.client_order_id))
    async with driven(kite_sim.client(timeout=2.0)) as second:
        await second.until(lambda: second.venue.started)
        await second.place(p)  # not flagged as redelivered: the start read knows the tag
        await second.until(lambda: second.closed(p.order.client_order_id))
        assert second.venue.counts["placements"] == 0 and second.venue.counts["adopted"] == 1
        assert tags_at_kite(kite_sim)[first.venue.tag_for(p.order.client_order_id)] == 1
