"""The paper execution actor's snapshot holds its open orders, not the day's history."""

from __future__ import annotations

from decimal import Decimal

from actors.paper.actor import PaperExecution
from actors.paper.matching import PaperBroker
from schemas.enums import OrderType, Side
from schemas.events import TradingSignal, ValidatedSignal
from supervisors.actor import Context


def validated(n: int, order_type: OrderType, limit: str | None = None) -> ValidatedSignal:
    signal = TradingSignal(
        strategy_id="s", instrument_token=408065, side=Side.BUY, quantity=1,
        reference_price=Decimal("1500.00"), bid=Decimal("1499.95"), ask=Decimal("1500.05"),
        order_type=order_type, limit_price=Decimal(limit) if limit else None, tick_ts=1,
    )  # fmt: skip
    return ValidatedSignal(signal_id=f"sig{n}", client_order_id=f"sig{n}", signal=signal)


def test_filled_orders_leave_the_snapshot_and_resting_ones_survive_a_restore() -> None:
    actor = PaperExecution("paper", PaperBroker())
    for n in range(50):
        actor._submit(validated(n, OrderType.MARKET), 1, Context(actor.name, "paper"))
    actor._submit(validated(99, OrderType.LIMIT, "1400.00"), 1, Context(actor.name, "paper"))
    state = actor.dump_state()
    assert [o.client_order_id for o in state.book.orders] == ["sig99"]
    assert state.counts[:2] == (51, 50)

    successor = PaperExecution("paper", PaperBroker())
    successor.load_state(state)
    assert [o.client_order_id for o in successor.book.open_orders()] == ["sig99"]
    assert successor._resting == {"408065"}
