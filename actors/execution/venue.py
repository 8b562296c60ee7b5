"""The venue protocol: where an order the execution desk decided on is executed.

The desk decides (the order to submit from a validated signal, the market it is priced
on, which resting orders expire) and hands the venue one instruction at a time: `Place`,
`Cancel` or `MarketUpdate`. The venue answers with the order events that follow
(accepted, filled, failed, cancelled). The paper venue answers synchronously and purely
(`actors.paper.venue`), which is what lets a backtest drive it in-process; a venue that
talks to a broker's API implements `AsyncVenue` instead (the same instructions, awaited,
answered with the events it can report so far) and reports later fills through its own
input. Both keep the order book the desk's rules read: open orders, an order by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Protocol

import msgspec

from actors.execution.market import MarketView
from schemas.enums import OrderFailReason, OrderType
from schemas.events import Event, MarketTick, OrderCancelled, OrderFilled, OrderSubmitted

__all__ = [
    "Place",
    "Cancel",
    "MarketUpdate",
    "Instruction",
    "OpenOrder",
    "Venue",
    "AsyncVenue",
]


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """Execute `order` on `market` (the tick its signal names), or fail it with `refusal`
    (reason, detail) when no tick can price it. `ts_ns`: event time of the decision."""

    order: OrderSubmitted
    market: MarketView | None
    ts_ns: int
    refusal: tuple[OrderFailReason, str] | None = None


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    reason: str
    ts_ns: int


class MarketUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A tick of an instrument with resting orders: the venue may fill them on it."""

    tick: MarketTick
    ts_ns: int


Instruction = Place | Cancel | MarketUpdate


class OpenOrder(Protocol):
    """What the desk reads of an order a venue holds."""

    @property
    def client_order_id(self) -> str: ...
    @property
    def instrument_token(self) -> int: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def limit_price(self) -> Decimal | None: ...
    @property
    def updated_ns(self) -> int: ...
    @property
    def is_open(self) -> bool: ...


class _Book(Protocol):
    max_signal_tick_age_ms: int

    def order(self, client_order_id: str) -> OpenOrder | None:
        """The order of that id, open or closed, if this venue holds it."""

    def open_orders(self) -> Sequence[OpenOrder]:
        """The orders not yet filled, cancelled or rejected, in arrival order."""

    def answer(self, client_order_id: str) -> list[Event]:
        """What `Place` of that order answered (a redelivered signal): nothing if unknown."""

    def absorb_fill(self, fill: OrderFilled) -> None:
        """A fill of ours read back from the stream (replay after a restart)."""

    def absorb_cancel(self, cancelled: OrderCancelled) -> None:
        """A cancel of ours read back from the stream."""

    def orders_state(self) -> Sequence[Any]:
        """The open orders, for a snapshot that `restore_orders` reads."""

    def restore_orders(self, orders: Iterable[Any]) -> None: ...


class Venue(_Book, Protocol):
    """A venue that executes synchronously, without I/O (paper): pure and replayable."""

    def execute(self, instruction: Instruction) -> list[Event]: ...


class AsyncVenue(_Book, Protocol):
    """A venue behind a broker's API: the same instructions, awaited."""

    async def execute(self, instruction: Instruction) -> list[Event]: ...
