"""Kite's view of an order (from `orders()`, order history or a ticker order update) applied
to our order, through the paper order's state machine (`actors.paper.orders`). Pure.

Kite reports an order's status and, separately, its trades. We accept an order when Kite
shows it live (OPEN, TRIGGER PENDING, or already COMPLETE / CANCELLED), fill it once per Kite
trade (the trade id is in the fill id, so a trade reported twice fills once), and close it
on CANCELLED or REJECTED (with Kite's `status_message`). Transitional statuses (PUT ORDER
REQ RECEIVED, VALIDATION PENDING, ...) change nothing yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from actors.paper.charges import ChargesTable, Product
from actors.paper.orders import OrderTrigger, PaperOrder
from schemas.enums import OrderFailReason, OrderStatus
from schemas.events import Event, OrderAccepted, OrderCancelled, OrderFailed, OrderFilled

__all__ = ["KiteOrder", "apply_kite_view", "fill_id_of", "LIVE_STATUSES"]

log = logging.getLogger(__name__)

#: Kite statuses that mean the exchange holds (or held) the order
LIVE_STATUSES = frozenset({"OPEN", "TRIGGER PENDING", "COMPLETE", "CANCELLED", "AMO REQ RECEIVED"})


class KiteOrder(PaperOrder, kw_only=True):
    """Our order as the zerodha venue holds it: the paper order plus Kite's side of it.

    `phase`: held (booked; its OrderSubmitted not yet stored), queued (not yet sent), sent
    (a placement in flight), unresolved (an ambiguous answer or a restart: look it up by tag
    before anything else), placed (Kite gave its id), refused (never placed)."""

    tag: str = ""
    exchange: str = "NSE"
    tradingsymbol: str = ""
    product: str = "MIS"
    phase: str = "queued"
    queued_ns: int = 0
    attempts: int = 0
    trade_ids: list[str] = msgspec.field(default_factory=list)


def fill_id_of(kite_order_id: str, trade_id: str) -> str:
    """Fill ids name Kite's order and trade: the same trade is the same fill on any replay."""
    return f"{kite_order_id}-T{trade_id}"


def _price(value: Any) -> Decimal:
    return Decimal(str(value))  # Kite's JSON numbers are floats: their shortest repr is exact


def apply_kite_view(
    order: KiteOrder,
    view: Mapping[str, Any],
    trades: Iterable[Mapping[str, Any]],
    charges: ChargesTable,
    product: Product = Product.MIS,
) -> list[Event]:
    """The events that bring `order` to what Kite reports (`view`, and its trades)."""
    events: list[Event] = []
    status = str(view.get("status") or "")
    kite_id = str(view.get("order_id") or order.broker_order_id)
    if not order.broker_order_id:
        order.broker_order_id = kite_id
        order.phase = "placed"
    if order.state is OrderStatus.SUBMITTED:
        if status == "REJECTED":
            order.transition(OrderTrigger.REJECT)
            return [
                OrderFailed(
                    client_order_id=order.client_order_id, reason=OrderFailReason.BROKER_REJECTED,
                    detail=str(view.get("status_message") or "rejected by Kite"),
                    signal_id=order.signal_id, instrument_token=order.instrument_token,
                    tag=order.tag,
                )
            ]  # fmt: skip
        if status not in LIVE_STATUSES:
            return events
        order.transition(OrderTrigger.ACCEPT)
        events.append(
            OrderAccepted(
                client_order_id=order.client_order_id, broker_order_id=kite_id,
                instrument_token=order.instrument_token, tag=order.tag,
            )
        )  # fmt: skip
    for trade in sorted(trades, key=lambda t: str(t.get("trade_id"))):
        trade_id = str(trade.get("trade_id"))
        if str(trade.get("order_id")) != kite_id or trade_id in order.trade_ids:
            continue
        quantity, price = int(trade.get("quantity") or 0), _price(trade.get("average_price"))
        if not 0 < quantity <= order.remaining or not order.is_open:
            log.error("order %s (Kite %s): trade %s of %d does not fit (remaining %d, %s)",
                      order.client_order_id, kite_id, trade_id, quantity, order.remaining,
                      order.state)  # fmt: skip
            continue
        prior = order.turnover
        order.record_fill(quantity, price)
        order.trade_ids.append(trade_id)
        events.append(
            OrderFilled(
                client_order_id=order.client_order_id, broker_order_id=kite_id,
                fill_id=fill_id_of(kite_id, trade_id), strategy_id=order.strategy_id,
                instrument_token=order.instrument_token, side=order.side, quantity=quantity,
                price=price, cumulative_quantity=order.filled_quantity,
                order_quantity=order.quantity, average_price=order.average_price,
                final=order.state is OrderStatus.FILLED,
                charges=charges.fill_charges(order.side, product, prior, price * quantity),
                symbol=order.symbol, tick_ts=order.tick_ts, tag=order.tag,
            )
        )  # fmt: skip
    if status in ("CANCELLED", "REJECTED") and order.can(OrderTrigger.CANCEL):
        filled_at_kite = int(view.get("filled_quantity") or 0)
        if filled_at_kite > order.filled_quantity:
            return events  # its trades are not all visible yet: close it on the next look
        order.transition(OrderTrigger.CANCEL)
        reason = str(view.get("status_message") or "")
        events.append(
            OrderCancelled(
                client_order_id=order.client_order_id, broker_order_id=kite_id,
                filled_quantity=order.filled_quantity, instrument_token=order.instrument_token,
                reason=(f"{status.lower()} at Kite" + (f": {reason}" if reason else "")),
                tag=order.tag,
            )
        )  # fmt: skip
    return events
