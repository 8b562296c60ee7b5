"""The simulated exchange behind the Kite simulator: orders, fills and trades, no I/O.

MARKET orders fill at once at the touch of the walk's last tick (the best ask for a buy,
the best bid for a sell); LIMIT orders fill at once when marketable, otherwise rest and fill
when a later tick crosses them. Kite's input rules are checked here and answered with the
`KiteError` the HTTP layer turns into Kite's error body.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from kiteconnect import KiteConnect as K

from actors.instruments import Instrument, InstrumentBook
from ops.sim.kite.rules import KiteError, check_protection, form_int, form_price, input_error
from schemas.events import MarketTick

__all__ = [
    "Exchange",
    "KiteError",
    "SimOrder",
    "stamp",
    "IST",
    "MAX_TAG_CHARS",
    "MAX_MODIFICATIONS",
]

MAX_TAG_CHARS = 20
MAX_MODIFICATIONS = 25
IST = timezone(timedelta(hours=5, minutes=30))
_VARIETIES = {"regular", "amo", "co", "iceberg", "auction"}
# Kite's own spellings, from the official client (one of them is also a stream's name).
ORDER_TYPES = {K.ORDER_TYPE_MARKET, K.ORDER_TYPE_LIMIT, K.ORDER_TYPE_SL, K.ORDER_TYPE_SLM}
_PRODUCTS = {"CNC", "MIS", "NRML", "MTF"}
_NEEDS_PROTECTION = {K.ORDER_TYPE_MARKET, K.ORDER_TYPE_SLM}


def stamp(now: datetime) -> str:
    return now.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class SimOrder:
    """One order and its history, in Kite's field names."""

    order_id: str
    variety: str
    instrument: Instrument
    transaction_type: str
    order_type: str
    product: str
    quantity: int
    price: Decimal
    trigger_price: Decimal
    validity: str
    tag: str | None
    placed_at: datetime
    status: str = "OPEN"
    filled_quantity: int = 0
    average_price: Decimal = Decimal(0)
    cancelled_quantity: int = 0
    modifications: int = 0
    status_message: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def view(self, now: datetime) -> dict[str, Any]:
        return {
            "placed_by": "SIM001",
            "order_id": self.order_id,
            "exchange_order_id": None if self.status == "REJECTED" else f"1{self.order_id}",
            "parent_order_id": None,
            "status": self.status,
            "status_message": self.status_message,
            "status_message_raw": self.status_message,
            "order_timestamp": stamp(self.placed_at),
            "exchange_update_timestamp": stamp(now),
            "exchange_timestamp": stamp(self.placed_at),
            "variety": self.variety,
            "modified": self.modifications > 0,
            "exchange": self.instrument.exchange,
            "tradingsymbol": self.instrument.tradingsymbol,
            "instrument_token": self.instrument.instrument_token,
            "order_type": self.order_type,
            "transaction_type": self.transaction_type,
            "validity": self.validity,
            "validity_ttl": 0,
            "product": self.product,
            "quantity": self.quantity,
            "disclosed_quantity": 0,
            "price": float(self.price),
            "trigger_price": float(self.trigger_price),
            "average_price": float(self.average_price),
            "filled_quantity": self.filled_quantity,
            "pending_quantity": self.pending,
            "cancelled_quantity": self.cancelled_quantity,
            "market_protection": 0,
            "meta": {},
            "tag": self.tag,
            "tags": [self.tag] if self.tag else [],
            "guid": f"sim-{self.order_id}",
        }

    @property
    def pending(self) -> int:
        if self.status in ("OPEN", "TRIGGER PENDING"):
            return self.quantity - self.filled_quantity
        return 0


class Exchange:
    """Order book state of one simulated account; `on_change` hears every order update."""

    def __init__(
        self,
        book: InstrumentBook,
        on_change: Callable[[SimOrder], None] = lambda order: None,
        clock: Callable[[], datetime] = lambda: datetime.now(IST),
    ) -> None:
        self.book = book
        self.on_change = on_change
        self.clock = clock
        self.orders: dict[str, SimOrder] = {}
        self.trades: list[dict[str, Any]] = []
        self.last: dict[int, MarketTick] = {}
        self._ids = itertools.count(1)

    def _new_id(self) -> str:
        return f"{self.clock():%y%m%d}{next(self._ids):09d}"

    def place(self, variety: str, form: Mapping[str, str]) -> SimOrder:
        if variety not in _VARIETIES:
            raise input_error(f"Invalid `variety`: {variety!r}; use one of {sorted(_VARIETIES)}.")
        inst = self.book.by_symbol(form.get("tradingsymbol", ""))
        if inst is None or form.get("exchange") != inst.exchange:
            raise input_error("Invalid `tradingsymbol` or `exchange`: instrument not found.")
        side = form.get("transaction_type", "")
        if side not in ("BUY", "SELL"):
            raise input_error("Invalid `transaction_type`; use BUY or SELL.")
        order_type = form.get("order_type", "")
        if order_type not in ORDER_TYPES:
            raise input_error(f"Invalid `order_type`; use one of {sorted(ORDER_TYPES)}.")
        product = form.get("product", "")
        if product not in _PRODUCTS:
            raise input_error(f"Invalid `product`; use one of {sorted(_PRODUCTS)}.")
        tag = form.get("tag") or None
        if tag is not None and len(tag) > MAX_TAG_CHARS:
            raise input_error(f"Tag length should be less than or equal to {MAX_TAG_CHARS} chars.")
        if order_type in _NEEDS_PROTECTION:
            check_protection(form.get("market_protection"))
        quantity = form_int(form, "quantity")
        if quantity <= 0 or quantity % inst.lot_size:
            raise input_error(
                f"Quantity should be a positive multiple of lot size {inst.lot_size}."
            )
        price = form_price(form, "price", inst) if order_type in ("LIMIT", "SL") else Decimal(0)
        trigger = (
            form_price(form, "trigger_price", inst) if order_type in ("SL", "SL-M") else Decimal(0)
        )
        order = SimOrder(
            order_id=self._new_id(),
            variety=variety,
            instrument=inst,
            transaction_type=side,
            order_type=order_type,
            product=product,
            quantity=quantity,
            price=price,
            trigger_price=trigger,
            validity=form.get("validity", "DAY"),
            tag=tag,
            placed_at=self.clock(),
            status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
        )
        self.orders[order.order_id] = order
        for status in ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"):
            order.history.append(order.view(order.placed_at) | {"status": status})
        self._changed(order)
        self._try_fill(order)
        return order

    def modify(self, variety: str, order_id: str, form: Mapping[str, str]) -> SimOrder:
        order = self._open_order(order_id)
        if order.modifications >= MAX_MODIFICATIONS:
            raise KiteError(
                "OrderException",
                f"Maximum allowed order modifications exceeded ({MAX_MODIFICATIONS}).",
                400,
            )
        if form.get("order_type", order.order_type) in _NEEDS_PROTECTION and "order_type" in form:
            check_protection(form.get("market_protection"))
        if "quantity" in form:
            order.quantity = form_int(form, "quantity")
        if "price" in form:
            order.price = form_price(form, "price", order.instrument)
        if "trigger_price" in form:
            order.trigger_price = form_price(form, "trigger_price", order.instrument)
        order.order_type = form.get("order_type", order.order_type)
        order.modifications += 1
        self._changed(order, "MODIFY VALIDATION PENDING")
        self._try_fill(order)
        return order

    def cancel(self, variety: str, order_id: str) -> SimOrder:
        order = self._open_order(order_id)
        order.cancelled_quantity = order.quantity - order.filled_quantity
        order.status = "CANCELLED"
        self._changed(order)
        return order

    def on_tick(self, tick: MarketTick) -> None:
        """A new touch from the walk: resting orders it crosses fill."""
        self.last[tick.instrument_token] = tick
        for order in list(self.orders.values()):
            if order.pending and order.instrument.instrument_token == tick.instrument_token:
                self._try_fill(order)

    def _open_order(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise KiteError("OrderException", f"Order {order_id} not found.", 400)
        if not order.pending:
            raise KiteError(
                "OrderException",
                f"Order cannot be modified or cancelled as it is {order.status.lower()}.",
                400,
            )
        return order

    def _try_fill(self, order: SimOrder) -> None:
        tick = self.last.get(order.instrument.instrument_token)
        if tick is None or not order.pending:
            return
        buy = order.transaction_type == "BUY"
        touch = _touch(tick, buy)
        if order.status == "TRIGGER PENDING":
            if (buy and tick.last_price < order.trigger_price) or (
                not buy and tick.last_price > order.trigger_price
            ):
                return
            order.status = "OPEN"
        if order.order_type in ("LIMIT", "SL") and (
            (buy and touch > order.price) or (not buy and touch < order.price)
        ):
            return
        quantity = order.pending
        order.filled_quantity += quantity
        order.average_price = touch
        order.status = "COMPLETE"
        now = self.clock()
        self.trades.append(
            {
                "trade_id": f"{len(self.trades) + 1:08d}",
                "order_id": order.order_id,
                "exchange": order.instrument.exchange,
                "tradingsymbol": order.instrument.tradingsymbol,
                "instrument_token": order.instrument.instrument_token,
                "product": order.product,
                "average_price": float(touch),
                "quantity": quantity,
                "exchange_order_id": f"1{order.order_id}",
                "transaction_type": order.transaction_type,
                "fill_timestamp": stamp(now),
                "order_timestamp": stamp(now)[11:],
                "exchange_timestamp": stamp(now),
            }
        )
        self._changed(order)

    def _changed(self, order: SimOrder, status: str | None = None) -> None:
        view = order.view(self.clock())
        order.history.append(view if status is None else view | {"status": status})
        self.on_change(order)


def _touch(tick: MarketTick, buy: bool) -> Decimal:
    depth = tick.depth
    side = (depth.sell if buy else depth.buy) if depth else []
    return side[0].price if side else tick.last_price
