"""The execution desk of one broker: validated signals and ticks in, order events out. Pure.

It decides what the venue then executes: the order a validated signal becomes
(`OrderSubmitted`, same ids on a replay), the market it is priced on (the tick its signal
names, as execution itself received it, or why there is none), and which resting limit
orders expire. Every time here is event time (the exchange timestamp of a tick, else its
publish time), as in risk: a limit order rests `limit_ttl_s` of market time, so a replayed
or backtested day expires the same orders as the live one did.
"""

from __future__ import annotations

import inspect
from typing import cast

from actors.execution.market import MarketView
from actors.execution.venue import AsyncVenue, Cancel, MarketUpdate, Place, Venue
from actors.named_tick import NamedTick, TickRefusal
from schemas.enums import OrderFailReason, OrderType
from schemas.events import (
    Event,
    MarketTick,
    OrderCancelled,
    OrderFilled,
    OrderSubmitted,
    ValidatedSignal,
)

__all__ = ["ExecutionDesk", "order_of", "event_time"]


def event_time(tick: MarketTick, ts_ns: int) -> int:
    """A tick's market time: its exchange timestamp, else `ts_ns` (when it was published)."""
    return tick.exchange_timestamp_ns or ts_ns


def order_of(validated: ValidatedSignal) -> OrderSubmitted:
    """The order a validated signal becomes; its id is the one risk gave it."""
    s = validated.signal
    return OrderSubmitted(
        client_order_id=validated.client_order_id, signal_id=validated.signal_id,
        strategy_id=s.strategy_id, instrument_token=s.instrument_token, side=s.side,
        quantity=s.quantity, symbol=s.symbol, order_type=s.order_type,
        limit_price=s.limit_price if s.order_type is OrderType.LIMIT else None,
        tick_ts=s.tick_ts,
    )  # fmt: skip


class ExecutionDesk:
    """Turns validated signals into orders on a venue and expires resting limit orders."""

    def __init__(self, venue: Venue | AsyncVenue, *, limit_ttl_s: float = 60.0) -> None:
        self.venue = venue
        self.limit_ttl_ns = int(limit_ttl_s * 1e9)
        self._checked: object = None  # the venue `_sync` last found synchronous

    def _sync(self) -> Venue:
        """The venue, for the synchronous paths (an `AsyncVenue`'s actor awaits it itself
        with `place` and `expiries`, as `actors.kite.execution` does). Checked once per
        venue: a backtest asks at every signal."""
        if self.venue is not self._checked:
            if inspect.iscoroutinefunction(self.venue.execute):
                raise TypeError(f"{type(self.venue).__name__} is an AsyncVenue: await its execute")
            self._checked = self.venue
        return cast(Venue, self.venue)

    def knows(self, client_order_id: str) -> bool:
        """Whether that order was placed before (a redelivered signal needs no market)."""
        return self.venue.order(client_order_id) is not None

    def place(
        self, validated: ValidatedSignal, market: NamedTick | TickRefusal, now_ns: int
    ) -> Place:
        """The instruction for a new order: priced on `market`, or failed with its refusal.
        `now_ns`: when the signal arrived, the order's time when no tick prices it."""
        order = order_of(validated)
        if isinstance(market, TickRefusal):
            refusal = (OrderFailReason(market.reason), market.detail)
            return Place(order=order, market=None, ts_ns=now_ns, refusal=refusal)
        view = MarketView.from_tick(market.tick)
        return Place(order=order, market=view, ts_ns=event_time(market.tick, market.ts))

    def on_validated(
        self, validated: ValidatedSignal, market: NamedTick | TickRefusal | None, now_ns: int
    ) -> list[Event]:
        """The order and what the venue answered; a known order gets its first answer
        (`market` is not needed then, None)."""
        venue = self._sync()
        if self.knows(validated.client_order_id):
            return venue.answer(validated.client_order_id)
        if market is None:
            raise ValueError(
                f"order {validated.client_order_id!r} is new: it needs the tick its signal names"
            )
        instruction = self.place(validated, market, now_ns)
        return [instruction.order, *venue.execute(instruction)]

    def on_tick(self, tick: MarketTick, ts_ns: int) -> list[Event]:
        """Fill what the tick reaches, then expire the instrument's stale limit orders."""
        now = event_time(tick, ts_ns)
        venue = self._sync()
        events = venue.execute(MarketUpdate(tick=tick, ts_ns=now))
        for cancel in self.expiries(tick.instrument_token, now):
            events.extend(venue.execute(cancel))
        return events

    def expiries(self, instrument_token: int, now_ns: int) -> list[Cancel]:
        """The open limit orders of an instrument older than `limit_ttl_s` at `now_ns`."""
        return [
            Cancel(client_order_id=po.client_order_id, reason="expired (limit_ttl_s)", ts_ns=now_ns)
            for po in self.venue.open_orders()
            if po.instrument_token == instrument_token
            and po.order_type is OrderType.LIMIT
            and now_ns - po.updated_ns > self.limit_ttl_ns
        ]

    def on_order_event(self, event: Event) -> None:
        """An order event of ours read back from the stream: the venue's book agrees."""
        if isinstance(event, OrderFilled):
            self.venue.absorb_fill(event)
        elif isinstance(event, OrderCancelled):
            self.venue.absorb_cancel(event)

    def resting_tokens(self) -> set[int]:
        """Instruments with open orders: the ticks the desk must see."""
        return {po.instrument_token for po in self.venue.open_orders()}
