"""The simulator's exchange and rate limiter as plain objects: fills, triggers, windows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.instruments import InstrumentBook
from ops.sim.kite.exchange import Exchange, SimOrder
from ops.sim.kite.limits import ORDER_LIMITS, Faults, RateLimiter
from ops.sim.kite.rules import KiteError
from schemas.events import Depth, DepthLevel, MarketTick

INFY = 408065


def _tick(bid: str, ask: str) -> MarketTick:
    return MarketTick(
        instrument_token=INFY,
        last_price=Decimal(bid),
        depth=Depth(
            buy=[DepthLevel(price=Decimal(bid), quantity=10)],
            sell=[DepthLevel(price=Decimal(ask), quantity=10)],
        ),
    )


def _form(**fields: str) -> dict[str, str]:
    base = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY"}
    return base | {"quantity": "1", "product": "CNC", "order_type": "LIMIT"} | fields


def test_a_limit_buy_rests_until_the_ask_crosses_it_and_fills_at_the_ask() -> None:
    changes: list[str] = []

    def heard(order: SimOrder) -> None:
        changes.append(order.status)

    exchange = Exchange(InstrumentBook.default(), on_change=heard)
    exchange.on_tick(_tick("1500.00", "1500.10"))
    order = exchange.place("regular", _form(price="1499.50"))
    assert order.status == "OPEN" and exchange.trades == []
    exchange.on_tick(_tick("1499.00", "1499.40"))
    assert order.status == "COMPLETE"
    assert order.average_price == Decimal("1499.40")
    assert changes == ["OPEN", "COMPLETE"]


def test_a_market_sell_fills_at_the_best_bid() -> None:
    exchange = Exchange(InstrumentBook.default())
    exchange.on_tick(_tick("1500.00", "1500.10"))
    form = _form(order_type="MARKET", transaction_type="SELL", market_protection="-1")
    assert exchange.place("regular", form).average_price == Decimal("1500.00")


def test_an_sl_m_sell_waits_for_its_trigger() -> None:
    exchange = Exchange(InstrumentBook.default())
    exchange.on_tick(_tick("1500.00", "1500.10"))
    form = _form(
        order_type="SL-M", transaction_type="SELL", trigger_price="1490.00", market_protection="-1"
    )
    order = exchange.place("regular", form)
    assert order.status == "TRIGGER PENDING"
    exchange.on_tick(_tick("1489.00", "1489.20"))
    assert order.status == "COMPLETE" and order.average_price == Decimal("1489.00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"price": "1500.03"}, "multiple of tick 0.05"),
        ({"quantity": "0"}, "positive multiple of lot size"),
        ({"tradingsymbol": "NOPE"}, "instrument not found"),
        ({"order_type": "MARKET", "market_protection": "150"}, "market_protection"),
    ],
)
def test_bad_input_is_an_input_exception_naming_the_field(
    fields: dict[str, str], message: str
) -> None:
    exchange = Exchange(InstrumentBook.default())
    with pytest.raises(KiteError, match=message) as info:
        exchange.place("regular", _form(price="1500.00") | fields)
    assert (info.value.error_type, info.value.status) == ("InputException", 400)


def test_the_order_limiter_allows_400_a_minute_then_refuses() -> None:
    now = [0.0]
    limiter = RateLimiter(ORDER_LIMITS, clock=lambda: now[0])
    allowed = 0
    for i in range(500):
        now[0] = i * 0.11  # under 10 a second, all within 55 s: only the minute window binds
        allowed += limiter.allow()
    assert allowed == 400
    now[0] = 60.0 + 0.11  # the first request of the minute has left the window
    assert limiter.allow()
    now[0] = 0.0
    fresh = RateLimiter(ORDER_LIMITS, clock=lambda: now[0])
    assert [fresh.allow() for _ in range(11)].count(True) == 10


def test_faults_refuse_unknown_names_and_bad_values() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="known"):
        faults.update({"meteor": 1})
    with pytest.raises(ValueError, match="non-negative"):
        faults.update({"http_5xx": -1})
    faults.update({"http_5xx": 2})
    assert [faults.take("http_5xx") for _ in range(3)] == [True, True, False]
