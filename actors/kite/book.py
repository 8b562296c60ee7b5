"""The zerodha venue's book: our orders as Kite holds them, changed only from the mailbox.

What the execution desk reads (open orders, an order by id, the first answer to a
placement), what a restart restores (the open orders, their tags, Kite ids and trades
seen) and what the stream replays back (fills, cancels), plus booking a placement
(`_book`: tag, order limits, refusals) and applying what the worker observed at Kite
(`drain`, through the paper order state machine). No I/O: `actors.kite.venue` adds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from actors.execution.venue import Place
from actors.instruments import InstrumentBook
from actors.kite.order_limits import OrderLimits
from actors.kite.order_updates import KiteOrder, apply_kite_view
from actors.kite.tags import TagBook, TagError
from actors.paper.charges import ChargesTable, Product
from actors.paper.orders import OrderTrigger
from schemas.enums import OrderFailReason, OrderStatus
from schemas.events import Event, OrderCancelled, OrderFailed, OrderFilled

__all__ = ["KiteBook"]


class KiteBook:
    """The orders of one zerodha venue, in arrival order."""

    def __init__(
        self,
        instruments: InstrumentBook,
        limits: OrderLimits,
        charges: ChargesTable,
        product: Product,
        clock: Callable[[], int],
    ) -> None:
        self.instruments = instruments
        self.limits = limits
        self.charges = charges
        self.product = product
        self.clock = clock
        self.tags = TagBook()
        self.counts: Counter[str] = Counter()
        self.started = False  # Kite's orders have been read once: placing may begin
        self._orders: dict[str, KiteOrder] = {}
        self._answers: dict[str, tuple[Event, ...]] = {}
        self._observed: list[tuple[str, Mapping[str, Any], list[Mapping[str, Any]]]] = []
        self._refused: list[tuple[str, OrderFailReason, str]] = []
        self._held: list[tuple[str, bool]] = []
        self._kite_tags: dict[str, str] = {}  # tag -> Kite order id, from every read
        #: net quantity per instrument from every fill emitted or read back (reconciliation)
        self.positions: dict[int, int] = {}

    def _poke(self) -> None:
        """Wake the worker (the venue's); the book alone has none."""

    def order(self, client_order_id: str) -> KiteOrder | None:
        return self._orders.get(client_order_id)

    def all_orders(self) -> list[KiteOrder]:
        return list(self._orders.values())

    def _count_fill(self, fill: OrderFilled) -> None:
        token = fill.instrument_token
        self.positions[token] = self.positions.get(token, 0) + fill.side.sign * fill.quantity

    def open_orders(self) -> list[KiteOrder]:
        return [o for o in self._orders.values() if o.is_open]

    def answer(self, client_order_id: str) -> list[Event]:
        return list(self._answers.get(client_order_id, ()))

    def tag_for(self, client_order_id: str) -> str:
        o = self._orders.get(client_order_id)
        return o.tag if o is not None else ""

    def orders_state(self) -> list[KiteOrder]:
        return self.open_orders()

    def restore_orders(self, orders: Iterable[KiteOrder]) -> None:
        """After a restart: an order not known to be placed may have been: look it up."""
        for o in orders:
            if o.phase != "placed":
                o.phase = "unresolved"  # (held too: its signal may come again, or not)
            self.tags.issue(o.client_order_id)
            self._orders[o.client_order_id] = o

    def absorb_fill(self, fill: OrderFilled) -> None:
        o = self._orders.get(fill.client_order_id)
        trade_id = fill.fill_id.rsplit("-T", 1)[-1]
        if o is None or trade_id in o.trade_ids or fill.cumulative_quantity <= o.filled_quantity:
            return
        self._adopted(o, fill.broker_order_id)
        if o.can(OrderTrigger.ACCEPT):
            o.transition(OrderTrigger.ACCEPT)  # its acceptance is not replayed to us
        o.record_fill(fill.quantity, fill.price)
        o.trade_ids.append(trade_id)
        self._count_fill(fill)

    def absorb_cancel(self, cancelled: OrderCancelled) -> None:
        o = self._orders.get(cancelled.client_order_id)
        if o is None:
            return
        if o.can(OrderTrigger.ACCEPT):
            o.transition(OrderTrigger.ACCEPT)
        if o.can(OrderTrigger.CANCEL):
            o.transition(OrderTrigger.CANCEL)

    def _book(self, place: Place, redelivered: bool) -> list[Event]:
        sub = place.order
        if sub.client_order_id in self._orders:
            return self.answer(sub.client_order_id)
        inst = self.instruments.get(sub.instrument_token)
        o = KiteOrder(
            client_order_id=sub.client_order_id, broker_order_id="", strategy_id=sub.strategy_id,
            instrument_token=sub.instrument_token, side=sub.side, quantity=sub.quantity,
            order_type=sub.order_type, limit_price=sub.limit_price, signal_id=sub.signal_id,
            symbol=sub.symbol, tick_ts=sub.tick_ts, updated_ns=place.ts_ns,
            exchange=inst.exchange if inst else "NSE",
            tradingsymbol=inst.tradingsymbol if inst else "", product=str(self.product),
            queued_ns=self.clock(),
        )  # fmt: skip
        self._orders[o.client_order_id] = o
        refusal = place.refusal
        try:
            o.tag = self.tags.issue(o.client_order_id)
        except TagError as exc:
            refusal = refusal or (OrderFailReason.TAG_COLLISION, str(exc))
        if refusal is None and inst is None:
            missing = f"instrument {sub.instrument_token} is not in the instrument book"
            refusal = (OrderFailReason.INVALID_ORDER, missing)
        if refusal is None:
            breached = self.limits.admit(self.clock())
            if breached is not None:
                self.counts[f"refused_{breached}"] += 1
                refusal = (OrderFailReason.RATE_LIMITED, self.limits.describe(breached))
        if refusal is not None:
            events: list[Event] = [self._fail(o, *refusal)]
        else:
            events = []
            # held until `release()`: the ledger (our stream) holds the order before Kite does
            o.phase = "held"
            self._held.append((o.client_order_id, redelivered))
        self._answers[o.client_order_id] = tuple(events)
        return events

    def _fail(self, o: KiteOrder, reason: OrderFailReason, detail: str) -> OrderFailed:
        o.transition(OrderTrigger.REJECT)
        o.phase = "refused"
        self.counts[f"failed_{reason.value.lower()}"] += 1
        return OrderFailed(
            client_order_id=o.client_order_id, reason=reason, detail=detail,
            signal_id=o.signal_id, instrument_token=o.instrument_token, tag=o.tag,
        )  # fmt: skip

    def release(self) -> None:
        """The actor stored the events of what was booked: those orders may go to Kite."""
        held, self._held = self._held, []
        for coid, redelivered in held:
            o = self._orders[coid]
            if o.phase == "held":
                # a tag Kite was seen to hold (placed before a restart) is looked up, as is
                # every order before the first read of Kite's book
                seen = o.tag in self._kite_tags
                o.phase = "unresolved" if (redelivered or seen or not self.started) else "queued"
        if held:
            self._poke()

    def drain(self) -> list[Event]:
        """What the worker learned, applied to the book: the events to emit (mailbox only)."""
        events: list[Event] = []
        refused, self._refused = self._refused, []
        for coid, reason, detail in refused:
            o = self._orders[coid]
            if o.state is OrderStatus.SUBMITTED:
                events.append(self._fail(o, reason, detail))
        observed, self._observed = self._observed, []
        for coid, view, trades in observed:
            o = self._orders[coid]
            events.extend(apply_kite_view(o, view, trades, self.charges, self.product))
        for event in events:
            if isinstance(event, OrderFilled):
                self._count_fill(event)
        return events

    def _resolve(self, views: list[dict[str, Any]]) -> None:
        by_tag = {str(v.get("tag")): v for v in views if v.get("tag")}
        for o in self.open_orders():
            if o.phase != "unresolved":
                continue
            self.counts["lookups"] += 1
            view = by_tag.get(o.tag)
            if view is None:
                o.phase = "queued"  # Kite holds no order of this tag: it may be sent
            else:
                self.counts["adopted"] += 1
                self._adopted(o, str(view["order_id"]))

    def _adopted(self, o: KiteOrder, kite_order_id: str) -> None:
        if kite_order_id and not o.broker_order_id:
            o.broker_order_id = kite_order_id
        o.phase = "placed"
