"""Limit orders in the paper broker: marketable on arrival, resting, filled by ticks, cancelled."""

from __future__ import annotations

from actors.paper.matching import MarketView
from schemas.enums import OrderStatus, Side
from schemas.events import Depth, DepthLevel, OrderAccepted, OrderCancelled
from tests.actors.paper.factories import D, asks, fills_of, market_tick, paper_broker, submitted


def test_a_marketable_limit_buy_fills_but_never_above_its_limit() -> None:
    # ask 100.00 + 10 bps = 100.10 but the limit is 100.05 -> 100.05
    broker = paper_broker(slippage_bps="10")
    view = MarketView(last_price=D("100.00"), ask=D("100.00"))
    [fill] = fills_of(broker.submit(submitted(limit_price="100.05"), view, ts_ns=1))
    assert fill.price == D("100.05")


def test_a_limit_buy_rests_and_fills_at_its_limit_when_a_later_tick_crosses_it() -> None:
    broker = paper_broker(slippage_bps="10")
    events = broker.submit(submitted(limit_price="99.00"), MarketView(last_price=D("100")), ts_ns=1)
    assert [type(e) for e in events] == [OrderAccepted]
    assert broker.on_tick(market_tick("99.50"), ts_ns=2) == []
    assert broker.open_orders()[0].state is OrderStatus.ACCEPTED
    # last 98.90 <= 99.00: a resting order is filled passively at its own price, no slippage
    [fill] = fills_of(broker.on_tick(market_tick("98.90"), ts_ns=3))
    assert (fill.price, fill.quantity, fill.final) == (D("99.00"), 10, True)
    assert broker.open_orders() == []
    assert broker.on_tick(market_tick("98.00"), ts_ns=4) == []


def test_a_resting_sell_limit_fills_when_the_best_bid_reaches_it() -> None:
    broker = paper_broker()
    broker.submit(submitted(side=Side.SELL, limit_price="101.00"), None, ts_ns=1)
    bids = Depth(buy=[DepthLevel(price=D("100.95"), quantity=100)])
    assert broker.on_tick(market_tick("101.50", bids), ts_ns=2) == []  # the bid decides, not last
    bids = Depth(buy=[DepthLevel(price=D("101.00"), quantity=100)])
    [fill] = fills_of(broker.on_tick(market_tick("100.90", bids), ts_ns=3))
    assert fill.price == D("101.00")


def test_a_resting_limit_with_partial_fills_takes_only_the_crossing_depth() -> None:
    broker = paper_broker(partial_fills=True)
    broker.submit(submitted(quantity=100, limit_price="100.00"), None, ts_ns=1)
    # asks at or below 100.00 hold 40 (25 + 15); 100.05 is above the limit
    tick = market_tick("100.00", asks(("99.95", 25), ("100.00", 15), ("100.05", 500)))
    [first] = fills_of(broker.on_tick(tick, ts_ns=2))
    assert (first.quantity, first.price, first.final) == (40, D("100.00"), False)
    assert broker.order("c1").state is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
    [second] = fills_of(broker.on_tick(market_tick("99.90", asks(("99.90", 1000))), ts_ns=3))
    assert (second.quantity, second.cumulative_quantity, second.final) == (60, 100, True)
    assert second.fill_id == "c1-F2"
    assert broker.order("c1").state is OrderStatus.FILLED  # type: ignore[union-attr]


def test_a_marketable_limit_with_partial_fills_rests_what_the_depth_cannot_fill() -> None:
    broker = paper_broker(partial_fills=True)
    view = MarketView(depth=asks(("100.00", 30), ("100.05", 50)))
    fills = fills_of(broker.submit(submitted(quantity=100, limit_price="100.00"), view, ts_ns=1))
    assert [(f.quantity, f.final) for f in fills] == [(30, False)]
    assert broker.open_orders()[0].filled_quantity == 30


def test_resting_orders_share_the_quoted_depth_in_arrival_order() -> None:
    broker = paper_broker(partial_fills=True)
    broker.submit(submitted(quantity=30, limit_price="100.00", client_order_id="a"), None, ts_ns=1)
    broker.submit(submitted(quantity=30, limit_price="100.00", client_order_id="b"), None, ts_ns=2)
    # 40 quoted at 100.00: "a" takes 30, "b" the remaining 10
    fills = fills_of(broker.on_tick(market_tick("100.00", asks(("100.00", 40))), ts_ns=3))
    assert [(f.client_order_id, f.quantity) for f in fills] == [("a", 30), ("b", 10)]


def test_cancelling_a_resting_order_reports_what_was_filled_and_is_idempotent() -> None:
    broker = paper_broker(partial_fills=True)
    broker.submit(submitted(quantity=100, limit_price="100.00"), None, ts_ns=1)
    broker.on_tick(market_tick("100.00", asks(("100.00", 40))), ts_ns=2)
    [cancelled] = broker.cancel("c1", reason="strategy exit", ts_ns=3)
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.broker_order_id, cancelled.filled_quantity) == ("P-c1", 40)
    assert cancelled.reason == "strategy exit"
    assert broker.cancel("c1") == []
    assert broker.cancel("unknown") == []
    assert broker.on_tick(market_tick("90.00"), ts_ns=4) == []


def test_a_filled_order_cannot_be_cancelled_and_cancel_says_nothing() -> None:
    broker = paper_broker()
    broker.submit(submitted(), MarketView(last_price=D(100)), ts_ns=1)
    assert broker.cancel("c1") == []
    assert broker.order("c1").state is OrderStatus.FILLED  # type: ignore[union-attr]
