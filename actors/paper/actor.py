"""Paper execution (one per broker namespace): validated signals in, order events out.

An order is priced from the tick its signal names, as execution itself received it from
MARKET, depth included (`actors.named_tick`: the recent ticks of every traded instrument,
else the stream message at the signal's `tick_seq`), never from prices the signal claims.
A signal naming no tick MARKET holds for its instrument fails UNKNOWN_TICK, one whose tick
is older than `max_signal_tick_age_ms` fails STALE_TICK. The tick at a sequence never
changes, so a replayed signal fills as it did. Limit orders rest in the paper book and fill
when a later tick crosses them; such fills are recorded in the stream and read back on
replay, so a restarted book never fills an order twice. Every order event carries a domain
dedup key (`<broker>:fill:<fill id>`, ...), so the stream never holds the same fact twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

import msgspec

from actors.named_tick import NamedTicks, TickRefusal
from actors.paper.matching import MarketView, PaperBroker
from actors.paper.orders import OrderTrigger, PaperOrder
from actors.stores.pipeline_metrics import PipelineMetrics
from schemas.catalogue import per_broker_event
from schemas.enums import OrderFailReason, OrderType
from schemas.envelope import Envelope
from schemas.events import (
    Event,
    MarketTick,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
    ValidatedSignal,
)
from schemas.names import (
    MARKET_STREAM,
    MARKET_TICKS_ALL,
    ORDERS_CANCELLED,
    ORDERS_FILLED,
    SIGNALS_VALIDATED,
    TICK_PREFIX,
    Broker,
    broker_subject,
    stream_for_broker,
)
from supervisors.actor import Actor, Context, Durable, Input, Ordered
from supervisors.bus import Bus

__all__ = ["PaperExecution", "ExecutionSnapshot", "BookSnapshot"]

log = logging.getLogger(__name__)

_TICK_PREFIX = len(TICK_PREFIX)


class BookSnapshot(msgspec.Struct, kw_only=True):
    orders: list[PaperOrder] = msgspec.field(default_factory=list)


class ExecutionSnapshot(msgspec.Struct, kw_only=True):
    """Paper execution's snapshot: the open orders, and (orders, fills, failed, cancelled)."""

    book: BookSnapshot
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)


class PaperExecution(Actor):
    broker: Broker
    mailbox_size = 2048
    state_type = ExecutionSnapshot

    def __init__(
        self,
        broker: Broker,
        paper: PaperBroker,
        *,
        limit_ttl_s: float = 60.0,
        metrics: PipelineMetrics | None = None,
        tokens: Collection[int] = (),
    ) -> None:
        """`tokens`: the instruments the broker's strategies trade, whose ticks execution
        keeps to price arriving orders with."""
        self.broker = broker
        self.name = f"execution-{broker}"
        self.snapshot_key = f"execution-{broker}"
        self.book = paper
        self.metrics = metrics
        self.limit_ttl_ns = int(limit_ttl_s * 1e9)
        self.orders = 0
        self.fills = 0
        self.failed = 0
        self.cancelled = 0
        self._resting: set[str] = set()
        self.ticks = NamedTicks(paper.config.max_signal_tick_age_ms, tokens=frozenset(tokens))
        self._stream = stream_for_broker(broker).name
        self._validated = broker_subject(broker, SIGNALS_VALIDATED)
        self._filled = broker_subject(broker, ORDERS_FILLED)
        self._cancelled = broker_subject(broker, ORDERS_CANCELLED)

    def inputs(self) -> Sequence[Input]:
        return (
            Durable(
                self._stream, (self._validated, self._filled, self._cancelled), self.name,
                self.on_event, replay=True,
            ),
            # the tap keeps every traded instrument's ticks, to price arriving orders with;
            # the handler sees only the ticks of instruments with resting orders
            Ordered(
                MARKET_STREAM.name, MARKET_TICKS_ALL, self.on_tick, MarketTick,
                accept=self._resting_on, tap=self.ticks.see,
            ),
        )  # fmt: skip

    def _resting_on(self, subject: str) -> bool:
        return subject[_TICK_PREFIX:] in self._resting

    async def on_start(self, bus: Bus) -> None:
        self.ticks.bus = bus

    async def on_event(self, env: Envelope[Event], ctx: Context) -> None:
        data = env.data
        if isinstance(data, ValidatedSignal):
            await self._submit(data, env.ts, ctx)
        elif isinstance(data, OrderFilled):
            self._absorb_fill(data)
        elif isinstance(data, OrderCancelled):
            po = self.book.order(data.client_order_id)
            if po is not None and po.can(OrderTrigger.CANCEL):
                po.transition(OrderTrigger.CANCEL)
        self._refresh_resting()

    async def _submit(self, validated: ValidatedSignal, ts: int, ctx: Context) -> None:
        s = validated.signal
        order = OrderSubmitted(
            client_order_id=validated.client_order_id, signal_id=validated.signal_id,
            strategy_id=s.strategy_id, instrument_token=s.instrument_token, side=s.side,
            quantity=s.quantity, symbol=s.symbol, order_type=s.order_type,
            limit_price=s.limit_price if s.order_type is OrderType.LIMIT else None,
            tick_ts=s.tick_ts,
        )  # fmt: skip
        if self.book.order(order.client_order_id) is not None:  # redelivered: first answer
            events = self.book.submit(order, None, ts)
        else:
            self._emit(ctx, order)
            market = await self.ticks.named_by(s, ctx.stored_ms)
            if isinstance(market, TickRefusal):
                refusal = (OrderFailReason(market.reason), market.detail)
                events = self.book.submit(order, None, ts, refusal=refusal)
            else:
                events = self.book.submit(order, MarketView.from_tick(market.tick), market.ts)
        for event in events:
            self._emit(ctx, event)

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        tick = env.data
        for event in self.book.on_tick(tick, env.ts):
            self._emit(ctx, event)
        for po in self.book.open_orders():
            if (
                po.instrument_token == tick.instrument_token
                and po.order_type is OrderType.LIMIT
                and env.ts - po.updated_ns > self.limit_ttl_ns
            ):
                for event in self.book.cancel(po.client_order_id, "expired (limit_ttl_s)", env.ts):
                    self._emit(ctx, event)
        self._refresh_resting()

    def _absorb_fill(self, fill: OrderFilled) -> None:
        """A fill read back from the stream (replay after a crash): make the book agree."""
        po = self.book.order(fill.client_order_id)
        if po is None or fill.cumulative_quantity <= po.filled_quantity:
            return
        po.record_fill(fill.cumulative_quantity - po.filled_quantity, fill.price)
        po.fill_count = max(po.fill_count, int(fill.fill_id.rsplit("-F", 1)[-1] or 0))

    def _refresh_resting(self) -> None:
        self._resting = {str(po.instrument_token) for po in self.book.open_orders()}

    def _emit(self, ctx: Context, event: Event) -> None:
        kind = per_broker_event(type(event))
        # The label is part of the dedup key of events already in the stream: keep it.
        label = "fill" if isinstance(event, OrderFilled) else kind.event
        ident = event.fill_id if isinstance(event, OrderFilled) else event.client_order_id  # type: ignore[attr-defined]
        ctx.emit(
            broker_subject(self.broker, kind), event,
            key=str(getattr(event, "instrument_token", "")),
            msg_id=f"{self.broker}:{label}:{ident}",
        )  # fmt: skip
        if self.metrics is not None:
            self.metrics.incr("filled" if label == "fill" else label, self.broker)
        if isinstance(event, OrderSubmitted):
            self.orders += 1
        elif isinstance(event, OrderFilled):
            self.fills += 1
        elif isinstance(event, OrderFailed):
            self.failed += 1
        elif isinstance(event, OrderCancelled):
            self.cancelled += 1

    def dump_state(self) -> ExecutionSnapshot:
        """Open orders only. A closed order's signal lies at or below the snapshot's
        sequence, so the runtime never hands it to us again: remembering it would only
        grow the snapshot with the day (a KV value is capped at the server's 1 MiB)."""
        return ExecutionSnapshot(
            book=BookSnapshot(orders=self.book.open_orders()),
            counts=(self.orders, self.fills, self.failed, self.cancelled),
        )

    def load_state(self, state: ExecutionSnapshot) -> None:
        self.book.restore_orders(state.book.orders)
        self.orders, self.fills, self.failed, self.cancelled = state.counts
        self._refresh_resting()

    def stats(self) -> dict[str, Any]:
        return {
            "pipeline": {
                "orders": self.orders,
                "fills": self.fills,
                "orders_failed": self.failed,
                "orders_cancelled": self.cancelled,
                "resting_orders": len(self.book.open_orders()),
                "order_ticks_read": self.ticks.reads,
            }
        }
