"""Ledger rows: what the ledger keeps of an order event or a fill, and how it is keyed.

Pure and shared by both ledgers. A fill is unique per `(broker, fill_id)`; an order event
per `(broker, client_order_id, event_type, event_key)`, where `event_key` is the fill id
for `order.filled` and "" for the once-per-order events (submitted, accepted, failed,
cancelled). So a redelivered input, or the same event re-emitted under a new envelope id
after the JetStream duplicate window, is recorded once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeAlias, assert_never

import msgspec

from schemas.enums import OrderStatus
from schemas.envelope import Envelope
from schemas.events import (
    Charges,
    OrderAccepted,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
)
from schemas.names import parse_broker

__all__ = ["OrderEvent", "OrderRow", "FillRow", "order_row", "fill_row"]

OrderEvent: TypeAlias = OrderSubmitted | OrderAccepted | OrderFilled | OrderFailed | OrderCancelled


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    """One order lifecycle event as recorded; fields the event lacks are None."""

    broker: str
    client_order_id: str
    event_type: str
    event_key: str
    event_id: str
    status: OrderStatus
    ts: int
    signal_id: str | None = None
    strategy_id: str | None = None
    instrument_token: int | None = None
    symbol: str | None = None
    side: str | None = None
    quantity: int | None = None
    order_type: str | None = None
    limit_price: Decimal | None = None
    broker_order_id: str | None = None
    filled_quantity: int | None = None
    reason: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.broker, self.client_order_id, self.event_type, self.event_key)


class FillRow(msgspec.Struct, frozen=True, kw_only=True):
    """One execution as recorded; `ts` is the envelope's event time (ns)."""

    broker: str
    fill_id: str
    client_order_id: str
    broker_order_id: str
    strategy_id: str
    instrument_token: int
    side: str
    quantity: int
    price: Decimal
    charges: Charges
    event_id: str
    ts: int
    symbol: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.broker, self.fill_id)


def _unwrap(event: Any, event_id: str | None, ts: int | None) -> tuple[Any, str, int]:
    if isinstance(event, Envelope):
        return event.data, event_id or event.id, event.ts if ts is None else ts
    if event_id is None or ts is None:
        raise ValueError("a bare event needs event_id and ts (its envelope's id and ts)")
    return event, event_id, ts


def _order_fields(ev: OrderEvent) -> dict[str, Any]:
    token = {"instrument_token": ev.instrument_token or None}
    if isinstance(ev, OrderSubmitted):
        return token | {
            "status": OrderStatus.SUBMITTED,
            "signal_id": ev.signal_id,
            "strategy_id": ev.strategy_id,
            "symbol": ev.symbol,
            "side": ev.side,
            "quantity": ev.quantity,
            "order_type": ev.order_type,
            "limit_price": ev.limit_price,
        }
    if isinstance(ev, OrderAccepted):
        return token | {"status": OrderStatus.ACCEPTED, "broker_order_id": ev.broker_order_id}
    if isinstance(ev, OrderFilled):
        return token | {
            "status": OrderStatus.FILLED if ev.final else OrderStatus.PARTIALLY_FILLED,
            "event_key": ev.fill_id,
            "strategy_id": ev.strategy_id,
            "symbol": ev.symbol,
            "side": ev.side,
            "quantity": ev.quantity,
            "broker_order_id": ev.broker_order_id,
            "filled_quantity": ev.cumulative_quantity,
        }
    if isinstance(ev, OrderFailed):
        return token | {
            "status": OrderStatus.REJECTED,
            "signal_id": ev.signal_id or None,
            "reason": f"{ev.reason}: {ev.detail}" if ev.detail else ev.reason,
        }
    if isinstance(ev, OrderCancelled):
        return token | {
            "status": OrderStatus.CANCELLED,
            "broker_order_id": ev.broker_order_id or None,
            "filled_quantity": ev.filled_quantity,
            "reason": ev.reason or None,
        }
    assert_never(ev)


def order_row(
    broker: str,
    event: OrderEvent | Envelope[Any],
    event_id: str | None = None,
    ts: int | None = None,
) -> OrderRow:
    """The ledger row of an order event; an envelope supplies `event_id` and `ts` itself."""
    ev, eid, t = _unwrap(event, event_id, ts)
    if not isinstance(ev, OrderEvent):
        raise TypeError(f"not an order event: {type(ev).__name__}")
    fields: dict[str, Any] = {"event_key": ""} | _order_fields(ev)
    return OrderRow(
        broker=parse_broker(broker),
        client_order_id=ev.client_order_id,
        event_type=ev.TYPE,
        event_id=eid,
        ts=t,
        **fields,
    )


def fill_row(
    broker: str,
    fill: OrderFilled | Envelope[Any],
    event_id: str | None = None,
    ts: int | None = None,
) -> FillRow:
    """The ledger row of a fill; an envelope supplies `event_id` and `ts` itself."""
    ev, eid, t = _unwrap(fill, event_id, ts)
    if not isinstance(ev, OrderFilled):
        raise TypeError(f"not an OrderFilled: {type(ev).__name__}")
    return FillRow(
        broker=parse_broker(broker),
        fill_id=ev.fill_id,
        client_order_id=ev.client_order_id,
        broker_order_id=ev.broker_order_id,
        strategy_id=ev.strategy_id,
        instrument_token=ev.instrument_token,
        side=ev.side,
        quantity=ev.quantity,
        price=ev.price,
        charges=ev.charges,
        event_id=eid,
        ts=t,
        symbol=ev.symbol,
    )
