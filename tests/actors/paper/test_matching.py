"""The paper broker's fill model: market and limit orders against a MarketView or ticks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.paper.charges import ChargesTable, Product
from actors.paper.matching import MarketView, PaperBroker, PaperConfig
from actors.paper.orders import OrderTrigger
from schemas.enums import OrderStatus, OrderType, Side
from schemas.events import (
    Depth,
    DepthLevel,
    Event,
    MarketTick,
    OrderAccepted,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
    TradingSignal,
)

D = Decimal
TOKEN = 408065
NO_CHARGES = ChargesTable(
    brokerage_rate_intraday=D(0),
    stt_rate_intraday_sell=D(0),
    exchange_txn_rate=D(0),
    ipft_rate=D(0),
    sebi_rate=D(0),
    stamp_rate_intraday=D(0),
)


def _broker(slippage_bps: str = "0", partial_fills: bool = False) -> PaperBroker:
    config = PaperConfig(slippage_bps=D(slippage_bps), partial_fills=partial_fills)
    return PaperBroker(config, NO_CHARGES)


def _order(
    side: Side = Side.BUY,
    quantity: int = 10,
    limit_price: str | None = None,
    client_order_id: str = "c1",
) -> OrderSubmitted:
    return OrderSubmitted(
        client_order_id=client_order_id,
        signal_id="sig-1",
        strategy_id="momentum",
        instrument_token=TOKEN,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT if limit_price else OrderType.MARKET,
        limit_price=D(limit_price) if limit_price else None,
    )


def _asks(*levels: tuple[str, int]) -> Depth:
    return Depth(sell=[DepthLevel(price=D(p), quantity=q) for p, q in levels])


def _fills(events: list[Event]) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


def _tick(last: str, depth: Depth | None = None) -> MarketTick:
    return MarketTick(instrument_token=TOKEN, last_price=D(last), depth=depth)


def test_a_market_buy_without_depth_fills_at_the_last_price_plus_slippage_rounded_up() -> None:
    # 100.00 x (1 + 7 bps) = 100.07 -> up to the next 0.05 tick, away from the buyer: 100.10
    broker = _broker(slippage_bps="7")
    events = broker.submit(_order(), MarketView(last_price=D("100.00")), ts_ns=1)
    assert isinstance(events[0], OrderAccepted)
    assert events[0].broker_order_id == "P-c1"
    [fill] = _fills(events)
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
    broker = _broker(slippage_bps="7")
    view = MarketView(last_price=D("100.20"), bid=D("100.00"), ask=D("100.25"))
    [fill] = _fills(broker.submit(_order(side=Side.SELL), view, ts_ns=1))
    assert fill.price == D("99.90")


def test_a_market_buy_fills_at_the_best_ask_of_the_depth_in_one_fill_by_default() -> None:
    broker = _broker()
    view = MarketView(last_price=D("99.50"), depth=_asks(("100.00", 3), ("100.05", 50)))
    [fill] = _fills(broker.submit(_order(quantity=10), view, ts_ns=1))
    assert (fill.price, fill.quantity) == (D("100.00"), 10)


def test_partial_fills_walk_the_depth_levels_with_a_running_average_price() -> None:
    # asks 30 @ 100.00, 50 @ 100.05, 40 @ 100.10; buy 100
    # fill 1: 30 @ 100.00 -> avg 100.00
    # fill 2: 50 @ 100.05 -> avg (3000 + 5002.50) / 80 = 100.03125 -> 100.0312 (4 dp, half even)
    # fill 3: 20 @ 100.10 -> avg (8002.50 + 2002.00) / 100 = 100.045
    broker = _broker(partial_fills=True)
    depth = _asks(("100.00", 30), ("100.05", 50), ("100.10", 40))
    fills = _fills(broker.submit(_order(quantity=100), MarketView(depth=depth), ts_ns=1))
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
    broker = _broker(partial_fills=True)
    depth = _asks(("100.00", 30), ("100.05", 50), ("100.10", 40))
    fills = _fills(broker.submit(_order(quantity=150), MarketView(depth=depth), ts_ns=1))
    assert [(f.quantity, f.price) for f in fills] == [
        (30, D("100.00")),
        (50, D("100.05")),
        (70, D("100.10")),
    ]
    assert fills[-1].average_price == D("100.0633")
    assert fills[-1].final


def test_slippage_applies_to_every_level_walked() -> None:
    # 10 bps: 100.00 -> 100.10 ; 100.05 -> 100.15005 -> 100.20 (up to the tick)
    broker = _broker(slippage_bps="10", partial_fills=True)
    depth = _asks(("100.00", 5), ("100.05", 5))
    fills = _fills(broker.submit(_order(quantity=10), MarketView(depth=depth), ts_ns=1))
    assert [f.price for f in fills] == [D("100.10"), D("100.20")]


def test_a_market_order_without_any_price_fails_with_no_market_price() -> None:
    broker = _broker()
    for view in (None, MarketView()):
        events = broker.submit(_order(client_order_id=f"c-{view is None}"), view, ts_ns=1)
        [failed] = events
        assert isinstance(failed, OrderFailed)
        assert failed.reason == "NO_MARKET_PRICE"
        assert failed.signal_id == "sig-1"
    assert broker.order("c-True").state is OrderStatus.REJECTED  # type: ignore[union-attr]


def test_an_order_with_a_non_positive_quantity_is_rejected() -> None:
    [failed] = _broker().submit(_order(quantity=0), MarketView(last_price=D(1)), ts_ns=1)
    assert isinstance(failed, OrderFailed)
    assert failed.reason == "INVALID_ORDER"


def test_a_marketable_limit_buy_fills_but_never_above_its_limit() -> None:
    # ask 100.00 + 10 bps = 100.10 but the limit is 100.05 -> 100.05
    broker = _broker(slippage_bps="10")
    view = MarketView(last_price=D("100.00"), ask=D("100.00"))
    [fill] = _fills(broker.submit(_order(limit_price="100.05"), view, ts_ns=1))
    assert fill.price == D("100.05")


def test_a_limit_buy_rests_and_fills_at_its_limit_when_a_later_tick_crosses_it() -> None:
    broker = _broker(slippage_bps="10")
    events = broker.submit(_order(limit_price="99.00"), MarketView(last_price=D("100")), ts_ns=1)
    assert [type(e) for e in events] == [OrderAccepted]
    assert broker.on_tick(_tick("99.50"), ts_ns=2) == []
    assert broker.open_orders()[0].state is OrderStatus.ACCEPTED
    # last 98.90 <= 99.00: a resting order is filled passively at its own price, no slippage
    [fill] = _fills(broker.on_tick(_tick("98.90"), ts_ns=3))
    assert (fill.price, fill.quantity, fill.final) == (D("99.00"), 10, True)
    assert broker.open_orders() == []
    assert broker.on_tick(_tick("98.00"), ts_ns=4) == []


def test_a_resting_sell_limit_fills_when_the_best_bid_reaches_it() -> None:
    broker = _broker()
    broker.submit(_order(side=Side.SELL, limit_price="101.00"), None, ts_ns=1)
    bids = Depth(buy=[DepthLevel(price=D("100.95"), quantity=100)])
    assert broker.on_tick(_tick("101.50", bids), ts_ns=2) == []  # the bid decides, not last
    bids = Depth(buy=[DepthLevel(price=D("101.00"), quantity=100)])
    [fill] = _fills(broker.on_tick(_tick("100.90", bids), ts_ns=3))
    assert fill.price == D("101.00")


def test_a_resting_limit_with_partial_fills_takes_only_the_crossing_depth() -> None:
    broker = _broker(partial_fills=True)
    broker.submit(_order(quantity=100, limit_price="100.00"), None, ts_ns=1)
    # asks at or below 100.00 hold 40 (25 + 15); 100.05 is above the limit
    tick = _tick("100.00", _asks(("99.95", 25), ("100.00", 15), ("100.05", 500)))
    [first] = _fills(broker.on_tick(tick, ts_ns=2))
    assert (first.quantity, first.price, first.final) == (40, D("100.00"), False)
    assert broker.order("c1").state is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
    [second] = _fills(broker.on_tick(_tick("99.90", _asks(("99.90", 1000))), ts_ns=3))
    assert (second.quantity, second.cumulative_quantity, second.final) == (60, 100, True)
    assert second.fill_id == "c1-F2"
    assert broker.order("c1").state is OrderStatus.FILLED  # type: ignore[union-attr]


def test_a_marketable_limit_with_partial_fills_rests_what_the_depth_cannot_fill() -> None:
    broker = _broker(partial_fills=True)
    view = MarketView(depth=_asks(("100.00", 30), ("100.05", 50)))
    fills = _fills(broker.submit(_order(quantity=100, limit_price="100.00"), view, ts_ns=1))
    assert [(f.quantity, f.final) for f in fills] == [(30, False)]
    assert broker.open_orders()[0].filled_quantity == 30


def test_cancelling_a_resting_order_reports_what_was_filled_and_is_idempotent() -> None:
    broker = _broker(partial_fills=True)
    broker.submit(_order(quantity=100, limit_price="100.00"), None, ts_ns=1)
    broker.on_tick(_tick("100.00", _asks(("100.00", 40))), ts_ns=2)
    [cancelled] = broker.cancel("c1", reason="strategy exit", ts_ns=3)
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.broker_order_id, cancelled.filled_quantity) == ("P-c1", 40)
    assert cancelled.reason == "strategy exit"
    assert broker.cancel("c1") == []
    assert broker.cancel("unknown") == []
    assert broker.on_tick(_tick("90.00"), ts_ns=4) == []


def test_a_filled_order_cannot_be_cancelled_and_cancel_says_nothing() -> None:
    broker = _broker()
    broker.submit(_order(), MarketView(last_price=D(100)), ts_ns=1)
    assert broker.cancel("c1") == []
    assert broker.order("c1").state is OrderStatus.FILLED  # type: ignore[union-attr]


def test_a_resubmitted_order_returns_the_events_of_the_first_submit() -> None:
    broker = _broker()
    first = broker.submit(_order(), MarketView(last_price=D(100)), ts_ns=1)
    again = broker.submit(_order(), MarketView(last_price=D(200)), ts_ns=2)
    assert again == first
    assert len(broker.open_orders()) == 0


def test_a_replay_of_the_same_inputs_produces_identical_events() -> None:
    def run() -> list[Event]:
        broker = _broker(slippage_bps="3", partial_fills=True)
        out = broker.submit(_order(quantity=50), MarketView(depth=_asks(("10", 20))), ts_ns=1)
        out += broker.submit(_order(limit_price="9.00", client_order_id="c2"), None, ts_ns=2)
        out += broker.on_tick(_tick("8.95"), ts_ns=3)
        return out

    assert run() == run()


def test_every_fill_carries_the_charges_of_the_table() -> None:
    # MIS BUY 100 @ 1000 on the default table = 30.32 (see test_charges)
    broker = PaperBroker(PaperConfig(product=Product.MIS), ChargesTable())
    order = _order(quantity=100)
    [fill] = _fills(broker.submit(order, MarketView(last_price=D("1000")), ts_ns=1))
    assert fill.charges.total == D("30.32")
    assert fill.charges.brokerage == D("20.00")


def test_partial_fills_share_the_orders_brokerage_cap() -> None:
    # two fills of 50 @ 1000 (50,000 each): brokerage 15.00 then 5.00 -> 20.00 per order
    broker = PaperBroker(PaperConfig(partial_fills=True), ChargesTable())
    view = MarketView(depth=_asks(("1000", 50), ("1000", 50)))
    fills = _fills(broker.submit(_order(quantity=100), view, ts_ns=1))
    assert [f.charges.brokerage for f in fills] == [D("15.00"), D("5.00")]
    assert sum((f.charges.total for f in fills), D(0)) == D("30.32")


def test_resting_orders_share_the_quoted_depth_in_arrival_order() -> None:
    broker = _broker(partial_fills=True)
    broker.submit(_order(quantity=30, limit_price="100.00", client_order_id="a"), None, ts_ns=1)
    broker.submit(_order(quantity=30, limit_price="100.00", client_order_id="b"), None, ts_ns=2)
    # 40 quoted at 100.00: "a" takes 30, "b" the remaining 10
    fills = _fills(broker.on_tick(_tick("100.00", _asks(("100.00", 40))), ts_ns=3))
    assert [(f.client_order_id, f.quantity) for f in fills] == [("a", 30), ("b", 10)]


def test_a_market_view_is_built_from_a_tick_or_a_signal() -> None:
    tick = _tick("100", Depth(buy=[DepthLevel(price=D("99.95"), quantity=1)]))
    view = MarketView.from_tick(tick)
    assert (view.last_price, view.bid, view.ask) == (D("100"), D("99.95"), None)
    signal = TradingSignal(
        strategy_id="s",
        instrument_token=TOKEN,
        side=Side.BUY,
        quantity=1,
        reference_price=D("123.45"),
    )
    assert MarketView.from_signal(signal).last_price == D("123.45")


def test_the_config_refuses_negative_slippage_and_unknown_fields() -> None:
    with pytest.raises(ValueError, match="slippage_bps"):
        PaperConfig(slippage_bps=D("-1"))
    with pytest.raises(ValueError, match="tick_size"):
        PaperConfig(tick_size=D("0"))


def test_the_broker_state_survives_a_snapshot_and_restore() -> None:
    broker = _broker(partial_fills=True)
    broker.submit(_order(quantity=100, limit_price="100.00"), None, ts_ns=1)
    broker.on_tick(_tick("100.00", _asks(("100.00", 40))), ts_ns=2)
    restored = _broker(partial_fills=True)
    restored.restore(broker.snapshot())
    tick = _tick("99.00", _asks(("99.00", 1000)))
    assert restored.on_tick(tick, ts_ns=3) == broker.on_tick(tick, ts_ns=3)


def test_illegal_lifecycle_steps_surface_as_errors_not_silent_fixes() -> None:
    broker = _broker()
    broker.submit(_order(), MarketView(last_price=D(100)), ts_ns=1)
    order = broker.order("c1")
    assert order is not None
    assert not order.can(OrderTrigger.CANCEL)
