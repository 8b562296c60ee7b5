"""The paper broker's fill model for market orders, ids, charges and state."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.paper.charges import ChargesTable, Product
from actors.paper.matching import MarketView, PaperBroker, PaperConfig
from actors.paper.orders import OrderTrigger
from schemas.enums import OrderStatus, Side
from schemas.events import Depth, DepthLevel, Event, OrderAccepted, OrderFailed
from tests.actors.paper.factories import (
    D,
    asks,
    fills_of,
    market_tick,
    paper_broker,
    submitted,
)


def test_a_market_buy_without_depth_fills_at_the_last_price_plus_slippage_rounded_up() -> None:
    # 100.00 x (1 + 7 bps) = 100.07 -> up to the next 0.05 tick, away from the buyer: 100.10
    broker = paper_broker(slippage_bps="7")
    events = broker.submit(submitted(), MarketView(last_price=D("100.00")), ts_ns=1)
    assert isinstance(events[0], OrderAccepted)
    assert events[0].broker_order_id == "P-c1"
    [fill] = fills_of(events)
    assert (fill.price, fill.quantity, fill.final) == (D("100.10"), 10, True)
    assert (fill.cumulative_quantity, fill.order_quantity, fill.average_price) == (
        10,
        10,
        D("100.10"),
    )
    assert fill.fill_id == "c1-F1"
    assert broker.order("c1").state is OrderStatus.FILLED  # type: ignore[union-attr]


def test_a_market_sell_fills_at_the_bid_minus_slippage_rounded_down() -> None:
    # bid 100.00 x (1 - 7 bps) = 99.93 -> down to the tick below, away from the seller: 99.90
    broker = paper_broker(slippage_bps="7")
    view = MarketView(last_price=D("100.20"), bid=D("100.00"), ask=D("100.25"))
    [fill] = fills_of(broker.submit(submitted(side=Side.SELL), view, ts_ns=1))
    assert fill.price == D("99.90")


def test_a_market_buy_fills_at_the_best_ask_of_the_depth_in_one_fill_by_default() -> None:
    broker = paper_broker()
    view = MarketView(last_price=D("99.50"), depth=asks(("100.00", 3), ("100.05", 50)))
    [fill] = fills_of(broker.submit(submitted(quantity=10), view, ts_ns=1))
    assert (fill.price, fill.quantity) == (D("100.00"), 10)


def test_partial_fills_walk_the_depth_levels_with_a_running_average_price() -> None:
    # asks 30 @ 100.00, 50 @ 100.05, 40 @ 100.10; buy 100
    # fill 1: 30 @ 100.00 -> avg 100.00
    # fill 2: 50 @ 100.05 -> avg (3000 + 5002.50) / 80 = 100.03125 -> 100.0312 (4 dp, half even)
    # fill 3: 20 @ 100.10 -> avg (8002.50 + 2002.00) / 100 = 100.045
    broker = paper_broker(partial_fills=True)
    depth = asks(("100.00", 30), ("100.05", 50), ("100.10", 40))
    fills = fills_of(broker.submit(submitted(quantity=100), MarketView(depth=depth), ts_ns=1))
    assert [(f.quantity, f.price) for f in fills] == [
        (30, D("100.00")),
        (50, D("100.05")),
        (20, D("100.10")),
    ]
    assert [f.cumulative_quantity for f in fills] == [30, 80, 100]
    assert [f.average_price for f in fills] == [D("100.00"), D("100.0312"), D("100.045")]
    assert [f.final for f in fills] == [False, False, True]
    assert [f.fill_id for f in fills] == ["c1-F1", "c1-F2", "c1-F3"]


def test_a_market_order_larger_than_the_depth_fills_the_rest_at_the_last_level() -> None:
    # depth holds 30 + 50 + 40 = 120; buy 150 -> the last level's fill takes 40 + 30 = 70
    # avg (3000 + 5002.50 + 70 x 100.10 = 7007.00) / 150 = 15009.50 / 150 = 100.0633...
    broker = paper_broker(partial_fills=True)
    depth = asks(("100.00", 30), ("100.05", 50), ("100.10", 40))
    fills = fills_of(broker.submit(submitted(quantity=150), MarketView(depth=depth), ts_ns=1))
    assert [(f.quantity, f.price) for f in fills] == [
        (30, D("100.00")),
        (50, D("100.05")),
        (70, D("100.10")),
    ]
    assert fills[-1].average_price == D("100.0633")
    assert fills[-1].final


def test_slippage_applies_to_every_level_walked() -> None:
    # 10 bps: 100.00 -> 100.10 ; 100.05 -> 100.15005 -> 100.20 (up to the tick)
    broker = paper_broker(slippage_bps="10", partial_fills=True)
    depth = asks(("100.00", 5), ("100.05", 5))
    fills = fills_of(broker.submit(submitted(quantity=10), MarketView(depth=depth), ts_ns=1))
    assert [f.price for f in fills] == [D("100.10"), D("100.20")]


def test_a_market_order_without_any_price_fails_with_no_market_price() -> None:
    broker = paper_broker()
    for view in (None, MarketView()):
        events = broker.submit(submitted(client_order_id=f"c-{view is None}"), view, ts_ns=1)
        [failed] = events
        assert isinstance(failed, OrderFailed)
        assert failed.reason == "NO_MARKET_PRICE"
        assert failed.signal_id == "sig-1"
    assert broker.order("c-True").state is OrderStatus.REJECTED  # type: ignore[union-attr]


def test_an_order_with_a_non_positive_quantity_is_rejected() -> None:
    [failed] = paper_broker().submit(submitted(quantity=0), MarketView(last_price=D(1)), ts_ns=1)
    assert isinstance(failed, OrderFailed)
    assert failed.reason == "INVALID_ORDER"


def test_a_resubmitted_order_returns_the_events_of_the_first_submit() -> None:
    broker = paper_broker()
    first = broker.submit(submitted(), MarketView(last_price=D(100)), ts_ns=1)
    again = broker.submit(submitted(), MarketView(last_price=D(200)), ts_ns=2)
    assert again == first
    assert len(broker.open_orders()) == 0


def test_a_replay_of_the_same_inputs_produces_identical_events() -> None:
    def run() -> list[Event]:
        broker = paper_broker(slippage_bps="3", partial_fills=True)
        out = broker.submit(submitted(quantity=50), MarketView(depth=asks(("10", 20))), ts_ns=1)
        out += broker.submit(submitted(limit_price="9.00", client_order_id="c2"), None, ts_ns=2)
        out += broker.on_tick(market_tick("8.95"), ts_ns=3)
        return out

    assert run() == run()


def test_every_fill_carries_the_charges_of_the_table() -> None:
    # MIS BUY 100 @ 1000 on the default table = 30.32 (see test_charges)
    broker = PaperBroker(PaperConfig(product=Product.MIS), ChargesTable())
    order = submitted(quantity=100)
    [fill] = fills_of(broker.submit(order, MarketView(last_price=D("1000")), ts_ns=1))
    assert fill.charges.total == D("30.32")
    assert fill.charges.brokerage == D("20.00")


def test_partial_fills_share_the_orders_brokerage_cap() -> None:
    # two fills of 50 @ 1000 (50,000 each): brokerage 15.00 then 5.00 -> 20.00 per order
    broker = PaperBroker(PaperConfig(partial_fills=True), ChargesTable())
    view = MarketView(depth=asks(("1000", 50), ("1000", 50)))
    fills = fills_of(broker.submit(submitted(quantity=100), view, ts_ns=1))
    assert [f.charges.brokerage for f in fills] == [D("15.00"), D("5.00")]
    assert sum((f.charges.total for f in fills), D(0)) == D("30.32")


def test_a_market_view_is_built_from_a_tick_never_from_a_signal() -> None:
    tick = market_tick("100", Depth(buy=[DepthLevel(price=D("99.95"), quantity=1)]))
    view = MarketView.from_tick(tick)
    assert (view.last_price, view.bid, view.ask) == (D("100"), D("99.95"), None)
    assert view.depth == tick.depth
    # the prices a signal claims are no view of the market (execution prices from its tick)
    assert not hasattr(MarketView, "from_signal")


def test_the_config_refuses_negative_slippage_and_unknown_fields() -> None:
    with pytest.raises(ValueError, match="slippage_bps"):
        PaperConfig(slippage_bps=D("-1"))
    with pytest.raises(ValueError, match="tick_size"):
        PaperConfig(tick_size=D("0"))
    with pytest.raises(msgspec.ValidationError, match="unknown field `slipage_bps`"):
        msgspec.convert({"slipage_bps": "5"}, PaperConfig)


def test_the_broker_state_survives_a_snapshot_and_restore() -> None:
    broker = paper_broker(partial_fills=True)
    broker.submit(submitted(quantity=100, limit_price="100.00"), None, ts_ns=1)
    broker.on_tick(market_tick("100.00", asks(("100.00", 40))), ts_ns=2)
    restored = paper_broker(partial_fills=True)
    restored.restore(broker.snapshot())
    tick = market_tick("99.00", asks(("99.00", 1000)))
    assert restored.on_tick(tick, ts_ns=3) == broker.on_tick(tick, ts_ns=3)


def test_illegal_lifecycle_steps_surface_as_errors_not_silent_fixes() -> None:
    broker = paper_broker()
    broker.submit(submitted(), MarketView(last_price=D(100)), ts_ns=1)
    order = broker.order("c1")
    assert order is not None
    assert not order.can(OrderTrigger.CANCEL)


def test_a_market_sell_with_partial_fills_walks_the_bids() -> None:
    broker = paper_broker(partial_fills=True)
    bids = Depth(
        buy=[DepthLevel(price=D("99.95"), quantity=4), DepthLevel(price=D("99.90"), quantity=9)]
    )
    fills = fills_of(
        broker.submit(submitted(side=Side.SELL, quantity=6), MarketView(depth=bids), 1)
    )
    assert [(f.quantity, f.price) for f in fills] == [(4, D("99.95")), (2, D("99.90"))]


def test_a_failed_order_answers_a_resubmit_with_the_same_failure() -> None:
    broker = paper_broker()
    first = broker.submit(submitted(), None, ts_ns=1)
    assert broker.submit(submitted(), MarketView(last_price=D(100)), ts_ns=2) == first


levels_st = st.lists(
    st.tuples(st.integers(min_value=1, max_value=40_000), st.integers(min_value=0, max_value=500)),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from([Side.BUY, Side.SELL]),
    quantity=st.integers(min_value=1, max_value=3000),
    ticks=levels_st,
    last_ticks=st.integers(min_value=1, max_value=40_000),
    slippage=st.integers(min_value=0, max_value=50),
    partial=st.booleans(),
)
def test_a_market_order_always_fills_completely_on_the_tick_grid_and_never_beats_the_touch(
    side: Side,
    quantity: int,
    ticks: list[tuple[int, int]],
    last_ticks: int,
    slippage: int,
    partial: bool,
) -> None:
    tick = D("0.05")
    # levels best first: asks ascending for a buy, bids descending for a sell
    prices = sorted({t for t, _ in ticks}, reverse=side is Side.SELL)
    levels = [
        DepthLevel(price=p * tick, quantity=q) for p, (_, q) in zip(prices, ticks, strict=False)
    ]
    depth = Depth(sell=levels) if side is Side.BUY else Depth(buy=levels)
    view = MarketView(last_price=last_ticks * tick, depth=depth)
    broker = PaperBroker(PaperConfig(slippage_bps=D(slippage), partial_fills=partial))
    events = broker.submit(submitted(side=side, quantity=quantity), view, ts_ns=1)
    fills = fills_of(events)
    touch = view.touch(side)
    assert touch is not None
    assert sum(f.quantity for f in fills) == quantity
    assert fills[-1].final and not any(f.final for f in fills[:-1])
    assert fills[-1].cumulative_quantity == quantity
    turnover = sum((f.price * f.quantity for f in fills), D(0))
    assert abs(fills[-1].average_price - turnover / quantity) <= D("0.00005")
    for f in fills:
        assert f.price % tick == 0
        assert f.price >= touch if side is Side.BUY else f.price <= touch
