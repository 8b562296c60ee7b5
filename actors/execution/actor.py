"""The execution actor (one per broker): the shell around an `ExecutionDesk` and its venue.

It reads validated signals (and, on replay, its own fills and cancels) from the broker's
stream, looks up the tick each signal names in what it received from MARKET itself
(`actors.named_tick`: its recent ticks of every traded instrument, else the stream message
at the signal's `tick_seq`), hands both to the desk and emits what comes back. Ticks of
instruments with resting orders go to the desk too. Every order event carries a domain
dedup key (`<broker>:fill:<fill id>`, ...), so the stream never holds the same fact twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from actors.execution.desk import ExecutionDesk
from actors.execution.venue import AsyncVenue, Venue
from actors.named_tick import NamedTicks
from actors.stores.pipeline_metrics import PipelineMetrics
from schemas.catalogue import per_broker_event
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

__all__ = ["ExecutionActor"]

log = logging.getLogger(__name__)

_TICK_PREFIX = len(TICK_PREFIX)


class ExecutionActor(Actor):
    """Decode, call the desk, emit: no trading decision is made here."""

    broker: Broker
    mailbox_size = 2048

    def __init__(
        self,
        broker: Broker,
        venue: Venue | AsyncVenue,
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
        self.desk = ExecutionDesk(venue, limit_ttl_s=limit_ttl_s)
        self.metrics = metrics
        self.orders = 0
        self.fills = 0
        self.failed = 0
        self.cancelled = 0
        self._resting: set[str] = set()
        self.ticks = NamedTicks(venue.max_signal_tick_age_ms, tokens=frozenset(tokens))
        self._stream = stream_for_broker(broker).name
        self._validated = broker_subject(broker, SIGNALS_VALIDATED)
        self._filled = broker_subject(broker, ORDERS_FILLED)
        self._cancelled = broker_subject(broker, ORDERS_CANCELLED)

    @property
    def limit_ttl_ns(self) -> int:
        return self.desk.limit_ttl_ns

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
        else:
            self.desk.on_order_event(data)
        self._refresh_resting()

    async def _submit(self, validated: ValidatedSignal, ts: int, ctx: Context) -> None:
        market = None
        if not self.desk.knows(validated.client_order_id):  # redelivered: its first answer
            market = await self.ticks.named_by(validated.signal, ctx.stored_ms)
        for event in self.desk.on_validated(validated, market, ts):
            self._emit(ctx, event)

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        for event in self.desk.on_tick(env.data, env.ts):
            self._emit(ctx, event)
        self._refresh_resting()

    def _refresh_resting(self) -> None:
        self._resting = {str(token) for token in self.desk.resting_tokens()}

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

    def stats(self) -> dict[str, Any]:
        return {
            "pipeline": {
                "orders": self.orders,
                "fills": self.fills,
                "orders_failed": self.failed,
                "orders_cancelled": self.cancelled,
                "resting_orders": len(self.desk.venue.open_orders()),
                "order_ticks_read": self.ticks.reads,
            }
        }
