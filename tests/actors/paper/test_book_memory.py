"""The paper book forgets closed orders past a window: a day of fills does not grow it."""

from __future__ import annotations

from actors.paper.matching import RECENT_CLOSED_ORDERS, MarketView
from schemas.enums import OrderStatus
from tests.actors.paper.factories import D, fills_of, paper_broker, submitted


def test_closed_orders_past_the_window_are_dropped_and_recent_ones_still_answer() -> None:
    broker = paper_broker()
    market = MarketView(last_price=D("100.00"))
    total = RECENT_CLOSED_ORDERS + 300
    for n in range(total):
        assert fills_of(broker.submit(submitted(client_order_id=f"c{n}"), market, ts_ns=n))
        broker.open_orders()  # the execution actor asks after every event
    assert broker.order("c0") is None  # evicted: the book's memory stays bounded
    recent = broker.order(f"c{total - 1}")
    assert recent is not None and recent.state is OrderStatus.FILLED
    assert broker.answer(f"c{total - 1}")  # a recent resubmit still gets its first answer
    assert len(broker.snapshot()["orders"]) <= RECENT_CLOSED_ORDERS + 1
