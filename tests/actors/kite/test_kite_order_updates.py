"""Kite's view of an order drives the paper order state machine: accept, fill per trade,
cancel, reject with Kite's message; a trade seen twice fills once; charges exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.kite.order_updates import KiteOrder, apply_kite_view, fill_id_of
from actors.paper.charges import ChargesTable, Product
from schemas.enums import OrderFailReason, OrderStatus, OrderType, Side
from schemas.events import OrderAccepted, OrderCancelled, OrderFailed, OrderFilled

D = Decimal
CHARGES = ChargesTable()


def order(quantity: int = 10) -> KiteOrder:
    return KiteOrder(
        client_order_id="01M8SCY7V6X0JD99VV7130Z7AC", broker_order_id="", strategy_id="s1",
        instrument_token=341249, side=Side.BUY, quantity=quantity, order_type=OrderType.LIMIT,
        limit_price=D("1500.05"), tag="FcytjQXj6seI5UE2dIOC",
    )  # fmt: skip


def view(status: str, filled: int = 0, message: str | None = None) -> dict[str, Any]:
    return {"order_id": "261201000000001", "status": status, "filled_quantity": filled,
            "status_message": message}  # fmt: skip


def trade(trade_id: str, quantity: int, price: float) -> dict[str, Any]:
    return {"trade_id": trade_id, "order_id": "261201000000001", "quantity": quantity,
            "average_price": price}  # fmt: skip


def test_a_transitional_status_changes_nothing_and_open_accepts() -> None:
    o = order()
    assert apply_kite_view(o, view("VALIDATION PENDING"), [], CHARGES) == []
    assert o.state is OrderStatus.SUBMITTED and o.broker_order_id == "261201000000001"
    (accepted,) = apply_kite_view(o, view("OPEN"), [], CHARGES)
    assert isinstance(accepted, OrderAccepted)
    assert accepted.broker_order_id == "261201000000001" and accepted.tag == o.tag
    assert apply_kite_view(o, view("OPEN"), [], CHARGES) == []  # seen again: nothing new


def test_partial_then_complete_fills_once_per_trade_with_exact_prices_and_charges() -> None:
    o = order()
    apply_kite_view(o, view("OPEN"), [], CHARGES)
    (first,) = apply_kite_view(o, view("OPEN", 4), [trade("7", 4, 1500.05)], CHARGES)
    assert isinstance(first, OrderFilled) and not first.final
    assert first.price == D("1500.05") and first.cumulative_quantity == 4
    assert first.fill_id == fill_id_of("261201000000001", "7") == "261201000000001-T7"
    both = [trade("7", 4, 1500.05), trade("8", 6, 1499.9)]
    (second,) = apply_kite_view(o, view("COMPLETE", 10), both, CHARGES)  # trade 7 again
    assert isinstance(second, OrderFilled) and second.final and second.quantity == 6
    assert o.state is OrderStatus.FILLED
    # (4 x 1500.05 + 6 x 1499.90) / 10 = 14999.60 / 10 = 1499.96
    assert second.average_price == D("1499.96")
    whole = CHARGES.order_charges(Side.BUY, Product.MIS, D("14999.60"))
    assert first.charges.total + second.charges.total == whole.total


def test_an_order_complete_on_first_sight_is_accepted_and_filled() -> None:
    o = order(5)
    events = apply_kite_view(o, view("COMPLETE", 5), [trade("9", 5, 1500.0)], CHARGES)
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert o.state is OrderStatus.FILLED


def test_a_rejection_fails_the_order_with_kites_status_message() -> None:
    o = order()
    (failed,) = apply_kite_view(o, view("REJECTED", message="Insufficient funds"), [], CHARGES)
    assert isinstance(failed, OrderFailed)
    assert failed.reason is OrderFailReason.BROKER_REJECTED
    assert failed.detail == "Insufficient funds" and failed.tag == o.tag
    assert o.state is OrderStatus.REJECTED


def test_a_cancel_waits_for_every_trade_before_closing() -> None:
    o = order()
    apply_kite_view(o, view("OPEN"), [], CHARGES)
    assert apply_kite_view(o, view("CANCELLED", 3), [], CHARGES) == []  # trade not yet seen
    events = apply_kite_view(o, view("CANCELLED", 3), [trade("5", 3, 1500.0)], CHARGES)
    assert [type(e) for e in events] == [OrderFilled, OrderCancelled]
    cancelled = events[-1]
    assert isinstance(cancelled, OrderCancelled) and cancelled.filled_quantity == 3
    assert o.state is OrderStatus.CANCELLED


def test_a_trade_of_another_order_or_beyond_the_quantity_is_not_applied() -> None:
    o = order(2)
    other = trade("1", 2, 1500.0) | {"order_id": "999"}
    assert [type(e) for e in apply_kite_view(o, view("OPEN"), [other], CHARGES)] == [OrderAccepted]
    assert apply_kite_view(o, view("OPEN", 3), [trade("2", 3, 1500.0)], CHARGES) == []
    assert o.filled_quantity == 0
