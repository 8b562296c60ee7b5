"""The paper broker: deterministic matching of orders against a view of the market.

Fill model (docs/trading.md):
- A market order takes the touch: a buy the best ask, a sell the best bid (depth first,
  then the view's bid/ask, then the last price), moved by `slippage_bps` against the trader
  and rounded to `tick_size` away from the trader (buy up, sell down). No price at all:
  OrderFailed "NO_MARKET_PRICE".
- With `partial_fills` and depth, it walks the opposite levels in order, one fill per level
  (each level's price plus slippage); what the depth cannot fill is added to the last
  level's fill, at that level's price.
- A limit order that is marketable on arrival fills the same way, never worse than its
  limit, and only at levels within it; the rest rests. A resting limit fills on a later
  tick once the touch reaches it (buy: best ask <= limit; without depth or bid/ask, the
  last price), passively at its limit price without slippage; with `partial_fills` and
  depth, only the quantity quoted within the limit (shared by resting orders in arrival
  order).
- Ids derive from the client order id (`P-<id>`, `<id>-F<n>`): a replay yields the same ids.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import msgspec

from actors.execution.market import MarketView
from actors.paper.charges import ChargesTable, Product
from actors.paper.orders import OrderTrigger, PaperOrder
from schemas.enums import OrderFailReason, OrderStatus, OrderType, Side
from schemas.events import (
    Event,
    MarketTick,
    OrderAccepted,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
)

__all__ = ["PaperConfig", "MarketView", "PaperBroker"]

D = Decimal
_BPS = D(10_000)
_ZERO = D(0)
# enum members as module aliases: an enum class attribute is a slow lookup on Python 3.11,
# and these run for every order and fill
_BUY, _SELL = Side.BUY, Side.SELL
_LIMIT = OrderType.LIMIT
_FILLED = OrderStatus.FILLED
_ACCEPT, _REJECT, _CANCEL = OrderTrigger.ACCEPT, OrderTrigger.REJECT, OrderTrigger.CANCEL

#: closed orders the book still answers for (`order`, `answer`), oldest dropped first. A
#: redelivered signal of an older order never reaches the book: the runtime acks inputs at
#: or below its applied sequence unhandled, and a re-execution would emit the same ids,
#: which the PAPER stream's duplicate window (an hour) and the ledger's fill key drop.
RECENT_CLOSED_ORDERS = 4096


class PaperConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`latency_ms` is for the actor to apply before calling the broker; it is only carried.

    `max_signal_tick_age_ms` bounds how long before a validated signal reached execution
    its tick was stored in MARKET (server times); an older tick fails the order STALE_TICK.
    """

    slippage_bps: Decimal = D(0)
    partial_fills: bool = False
    latency_ms: int = 0
    tick_size: Decimal = D("0.05")
    product: Product = Product.MIS
    max_signal_tick_age_ms: int = 30_000

    def __post_init__(self) -> None:
        if not (self.slippage_bps.is_finite() and self.slippage_bps >= 0):
            raise ValueError(f"paper config: slippage_bps must be >= 0, got {self.slippage_bps}")
        if not (self.tick_size.is_finite() and self.tick_size > 0):
            raise ValueError(
                f"paper config: tick_size must be > 0 (NSE: 0.05), got {self.tick_size}"
            )
        if self.latency_ms < 0:
            raise ValueError(f"paper config: latency_ms must be >= 0, got {self.latency_ms}")
        if self.max_signal_tick_age_ms <= 0:
            raise ValueError(
                "paper config: max_signal_tick_age_ms must be > 0 (milliseconds a signal may "
                f"follow its tick, e.g. 30000), got {self.max_signal_tick_age_ms}"
            )


def _within(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side is _BUY else price >= limit


class PaperBroker:
    """Pure order matching; the execution actor feeds it and publishes what it returns."""

    def __init__(self, config: PaperConfig | None = None, charges: ChargesTable | None = None):
        self.config = config or PaperConfig()
        self.charges = charges or ChargesTable()
        factor = self.config.slippage_bps / _BPS  # (1 + factor, 1 - factor), once
        self._slippage = (1 + factor, 1 - factor)
        self._orders: dict[str, PaperOrder] = {}
        self._live: dict[str, PaperOrder] = {}  # orders that may be open, in arrival order
        self._submit_events: dict[str, tuple[Event, ...]] = {}
        self._closed: deque[str] = deque()  # closed orders still held, oldest first

    def order(self, client_order_id: str) -> PaperOrder | None:
        return self._orders.get(client_order_id)

    def answer(self, client_order_id: str) -> list[Event]:
        """What `submit` answered for that order (nothing after a restore, or if unknown)."""
        return list(self._submit_events.get(client_order_id, ()))

    def open_orders(self) -> list[PaperOrder]:
        live: dict[str, PaperOrder] = {}
        for cid, po in self._live.items():
            if po.is_open:
                live[cid] = po
            else:  # none ever reopens
                self._closed.append(cid)
        self._live = live
        while len(self._closed) > RECENT_CLOSED_ORDERS:
            cid = self._closed.popleft()
            self._orders.pop(cid, None)
            self._submit_events.pop(cid, None)
        return list(live.values())

    def submit(
        self,
        order: OrderSubmitted,
        market: MarketView | None,
        ts_ns: int,
        *,
        refusal: tuple[OrderFailReason, str] | None = None,
    ) -> list[Event]:
        """Accept (and fill what is marketable) or fail; a resubmit returns the first answer.

        `refusal` (reason, detail): the caller has no market to execute on (the tick the
        signal names is unknown or stale): the order fails with that reason.
        """
        if order.client_order_id in self._orders:
            return list(self._submit_events.get(order.client_order_id, ()))
        po = PaperOrder(
            client_order_id=order.client_order_id,
            broker_order_id=f"P-{order.client_order_id}",
            strategy_id=order.strategy_id,
            instrument_token=order.instrument_token,
            side=order.side,
            quantity=order.quantity,
            order_type=order.order_type,
            limit_price=order.limit_price,
            signal_id=order.signal_id,
            symbol=order.symbol,
            tick_ts=order.tick_ts,
            updated_ns=ts_ns,
        )
        self._orders[po.client_order_id] = self._live[po.client_order_id] = po
        view = market or MarketView()
        failure = refusal if refusal is not None else self._refusal(po, view)
        events: list[Event]
        if failure is not None:
            po.transition(_REJECT)
            reason, detail = failure
            events = [
                OrderFailed(
                    client_order_id=po.client_order_id,
                    reason=reason,
                    detail=detail,
                    signal_id=po.signal_id,
                    instrument_token=po.instrument_token,
                )
            ]
        else:
            po.transition(_ACCEPT)
            events = [
                OrderAccepted(
                    client_order_id=po.client_order_id,
                    broker_order_id=po.broker_order_id,
                    instrument_token=po.instrument_token,
                )
            ]
            events.extend(self._execute(po, self._aggressive(po, view)))
        self._submit_events[po.client_order_id] = tuple(events)
        return events

    def on_tick(self, tick: MarketTick, ts_ns: int) -> list[Event]:
        """Fill resting limit orders of the tick's instrument that the market now reaches."""
        view = MarketView.from_tick(tick)
        used: dict[Side, int] = {_BUY: 0, _SELL: 0}
        events: list[Event] = []
        for po in self.open_orders():
            if po.instrument_token != tick.instrument_token or po.limit_price is None:
                continue
            qty = self._passive_quantity(po, po.limit_price, view, used[po.side])
            if qty > 0:
                used[po.side] += qty
                po.updated_ns = ts_ns
                events.extend(self._execute(po, [(qty, po.limit_price)]))
        return events

    def cancel(self, client_order_id: str, reason: str = "", ts_ns: int = 0) -> list[Event]:
        """Cancel an open order; an unknown or already closed order yields no event."""
        po = self._orders.get(client_order_id)
        if po is None or not po.can(_CANCEL):
            return []
        po.transition(_CANCEL)
        po.updated_ns = ts_ns
        return [
            OrderCancelled(
                client_order_id=po.client_order_id,
                broker_order_id=po.broker_order_id,
                filled_quantity=po.filled_quantity,
                reason=reason,
                instrument_token=po.instrument_token,
            )
        ]

    def snapshot(self) -> dict[str, Any]:
        """Every order (closed ones too, so a redelivered submit is not executed twice)."""
        return {"orders": msgspec.to_builtins(list(self._orders.values()))}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the book with a `snapshot()`."""
        self.restore_orders(msgspec.convert(data["orders"], list[PaperOrder]))

    def restore_orders(self, orders: Iterable[PaperOrder]) -> None:
        """Replace the book; a resubmit of a restored order then returns no events."""
        self._orders = {o.client_order_id: o for o in orders}
        self._live = {cid: o for cid, o in self._orders.items() if o.is_open}
        self._submit_events = {}
        self._closed = deque(cid for cid, o in self._orders.items() if not o.is_open)

    # -- matching -----------------------------------------------------------------------

    def _refusal(self, po: PaperOrder, view: MarketView) -> tuple[OrderFailReason, str] | None:
        if po.quantity <= 0:
            return OrderFailReason.INVALID_ORDER, f"quantity must be > 0, got {po.quantity}"
        if po.order_type is _LIMIT:
            if po.limit_price is None or po.limit_price <= _ZERO:
                return OrderFailReason.INVALID_ORDER, (
                    f"a LIMIT order needs a limit price > 0, got {po.limit_price}"
                )
        elif view.touch(po.side) is None:
            return OrderFailReason.NO_MARKET_PRICE, (
                f"no last price, quote or depth for instrument {po.instrument_token}"
            )
        return None

    def _price(self, side: Side, raw: Decimal, limit: Decimal | None) -> Decimal:
        """Touch price plus adverse slippage, on the tick grid away from the trader."""
        tick = self.config.tick_size
        up, down = self._slippage
        if side is _BUY:
            price = (raw * up / tick).to_integral_value(ROUND_CEILING) * tick
            return min(price, limit) if limit is not None else price
        price = (raw * down / tick).to_integral_value(ROUND_FLOOR) * tick
        return max(price, limit) if limit is not None else price

    def _aggressive(self, po: PaperOrder, view: MarketView) -> list[tuple[int, Decimal]]:
        side, limit, qty = po.side, po.limit_price, po.remaining
        levels = view.levels(side) if self.config.partial_fills else []
        if not levels:
            touch = view.touch(side)
            if touch is None or (limit is not None and not _within(side, touch, limit)):
                return []
            return [(qty, self._price(side, touch, limit))]
        fills: list[tuple[int, Decimal]] = []
        for level in levels:
            if qty == 0 or (limit is not None and not _within(side, level.price, limit)):
                break
            take = min(qty, level.quantity)
            fills.append((take, self._price(side, level.price, limit)))
            qty -= take
        if qty and limit is None:  # a market order sweeps the book: rest at the last level
            last_qty, last_price = fills[-1]
            fills[-1] = (last_qty + qty, last_price)
        return fills

    def _passive_quantity(self, po: PaperOrder, limit: Decimal, view: MarketView, used: int) -> int:
        touch = view.touch(po.side)
        if touch is None or not _within(po.side, touch, limit):
            return 0
        levels = view.levels(po.side)
        if not (self.config.partial_fills and levels):
            return po.remaining
        quoted = sum(lvl.quantity for lvl in levels if _within(po.side, lvl.price, limit))
        return max(0, min(po.remaining, quoted - used))

    def _execute(self, po: PaperOrder, fills: list[tuple[int, Decimal]]) -> Iterator[OrderFilled]:
        for qty, price in fills:
            prior = po.turnover
            po.record_fill(qty, price)
            yield OrderFilled(
                client_order_id=po.client_order_id,
                broker_order_id=po.broker_order_id,
                fill_id=f"{po.client_order_id}-F{po.fill_count}",
                strategy_id=po.strategy_id,
                instrument_token=po.instrument_token,
                side=po.side,
                quantity=qty,
                price=price,
                cumulative_quantity=po.filled_quantity,
                order_quantity=po.quantity,
                average_price=po.average_price,
                final=po.state is _FILLED,
                charges=self.charges.fill_charges(po.side, self.config.product, prior, price * qty),
                symbol=po.symbol,
                tick_ts=po.tick_ts,
            )
