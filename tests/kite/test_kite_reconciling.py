"""Reconciliation wired into the Kite venue: on start before anything is placed, then
periodically; a position Kite holds that our book cannot account for halts zerodha and
stops placing (fail closed), with the differences in status."""

from __future__ import annotations

from actors.kite.reconciling import our_client_order_id, our_ledger
from actors.kite.venue import KiteVenueConfig
from schemas.events import OrderFilled
from tests.kite.kite_harness import BOOK, driven, market_order, tags_at_kite
from tests.ops.sim.conftest import RunningSim

CONFIG = KiteVenueConfig(timeout_s=2.0, poll_s=0.25, idle_poll_s=0.5, backoff_min_s=0.05,
                         send_deadline_s=3.0, reconcile_s=1.0)  # fmt: skip


async def test_the_start_reconciliation_is_ok_and_shown_before_the_first_order(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0), CONFIG) as d:
        await d.until(lambda: d.venue.started)
        status = d.venue.stats()["reconciliation"]
        assert status["ok"] is True and status["missing_reports"] == []
        assert "zerodha reconciled" in status["summary"]


async def test_a_position_kite_holds_beyond_our_fills_halts_zerodha_and_stops_placing(
    kite_sim: RunningSim,
) -> None:
    async with driven(kite_sim.client(timeout=2.0), CONFIG) as d:
        ours = market_order("HDFCBANK", 2)
        await d.place(ours)
        await d.until(lambda: d.closed(ours.order.client_order_id))
        assert d.venue.positions == {ours.order.instrument_token: 2}
        # someone trades the same instrument on the account, outside alpha-panda
        kite_sim.client().place_order(
            variety="regular", exchange="NSE", tradingsymbol="HDFCBANK",
            transaction_type="BUY", quantity=5, product="MIS", order_type="MARKET",
            market_protection=-1,
        )  # fmt: skip
        await d.until(lambda: bool(d.halts), every_s=0.1)
        assert "position mismatch HDFCBANK ours 2 Kite 7" in d.halts[0]
        status = d.venue.stats()["reconciliation"]
        assert status["ok"] is False and status["position_diffs"][0]["kite"] == 7
        assert status["unknown"][0]["reason"] == "untagged"  # flagged, never traded against
        blocked = market_order("SBIN")
        await d.place(blocked)
        await d.until(lambda: d.closed(blocked.order.client_order_id), every_s=0.1)
        assert d.venue.tag_for(blocked.order.client_order_id) not in tags_at_kite(kite_sim)
        assert len(d.of(OrderFilled)) == 1


def test_our_ledger_names_orders_by_tag_and_the_tag_map_tells_ours_from_foreign() -> None:
    from actors.kite.book import KiteBook
    from actors.kite.order_limits import OrderLimits
    from actors.paper.charges import ChargesTable, Product

    book = KiteBook(BOOK, OrderLimits(), ChargesTable(), Product.MIS, lambda: 1)
    place = market_order("INFY", 3)
    book._book(place, redelivered=False)
    ledger = our_ledger(book)
    (tag,) = ledger.orders
    assert ledger.tag_prefix == "" and ledger.orders[tag].quantity == 3
    assert our_client_order_id(tag) == place.order.client_order_id
    assert our_client_order_id("manual-order") is None
