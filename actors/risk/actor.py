"""The risk manager (one per broker): `signals.raw` in, `signals.validated|rejected` out.

Only the strategies configured and enabled for the broker may trade, each only its own
instruments. A signal is valued at the tick it names, as risk reads it from MARKET itself
(`actors.named_tick`: the ticks it received, else the stream by sequence), and judged on
that tick's time: nothing a signal claims about the market is believed.

Its state (positions, open orders, PnL of the day, the rate bucket) is a fold over the
broker's stream: signals it accepted and the fills, cancels and failures that followed,
consumed through one durable consumer in stream order and snapshotted with that order's
sequence. The trading state comes from the `CONTROL` stream: read in full on start (so no
signal is judged before a halt is known), then followed live.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from actors.control.state import apply_control
from actors.named_tick import NamedTick, NamedTicks, TickRefusal
from actors.risk.engine import RiskEngine, RiskState
from actors.risk.limits import RiskLimits
from actors.stores.shared import Stores
from schemas.enums import RejectReason, TradingState
from schemas.envelope import Envelope, decode_as
from schemas.events import (
    ControlCommand,
    Event,
    MarketTick,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)
from schemas.names import (
    CONTROL_STREAM,
    MARKET_STREAM,
    MARKET_TICKS_ALL,
    ORDERS_CANCELLED,
    ORDERS_FAILED,
    ORDERS_FILLED,
    SIGNALS_RAW,
    SIGNALS_REJECTED,
    SIGNALS_VALIDATED,
    Broker,
    broker_subject,
    control_wildcard,
    stream_for_broker,
)
from supervisors.actor import Actor, Context, Durable, Input, Ordered, Timer
from supervisors.bus import Bus

__all__ = ["RiskManager", "RiskSnapshot", "trading_day"]

log = logging.getLogger(__name__)

IST = timedelta(hours=5, minutes=30)


_NOT_LOOKED_UP = TickRefusal(
    reason=RejectReason.UNKNOWN_TICK, detail="not looked up: the strategy may not trade it"
)


def _no_tick(subject: str) -> bool:
    return False


def trading_day(ts_ns: int) -> str:
    """The IST calendar date of an event time: the daily loss limit restarts with it."""
    return (datetime.fromtimestamp(ts_ns / 1e9, UTC) + IST).date().isoformat()


class RiskSnapshot(msgspec.Struct, kw_only=True):
    """The risk manager's snapshot: the engine, and the day's figures for the read models."""

    engine: RiskState
    day: str = ""
    validated: int = 0
    rejections: dict[str, int] = msgspec.field(default_factory=dict)


class RiskManager(Actor):
    broker: Broker
    mailbox_size = 2048
    state_type = RiskSnapshot

    def __init__(
        self,
        broker: Broker,
        limits: RiskLimits,
        stores: Stores | None = None,
        *,
        strategies: Mapping[str, Collection[int]] | None = None,
    ) -> None:
        """`strategies`: strategy id -> the tokens it may trade on `broker`
        (`actors.strategies.config.allowed_instruments` of the configuration)."""
        self.broker = broker
        self.name = f"risk-{broker}"
        self.snapshot_key = f"risk-{broker}"
        self.engine = RiskEngine(limits, strategies)
        traded = frozenset().union(*self.engine.strategies.values())
        self.ticks = NamedTicks(limits.max_signal_tick_age_ms, tokens=traded)
        self.stores = stores
        self._unsent: Counter[str] = Counter()
        self.day = ""
        self.validated = 0
        self.rejections: Counter[str] = Counter()
        self._control_seq = 0
        self._control_state = TradingState.ACTIVE
        self._stream = stream_for_broker(broker).name
        self._subjects = {
            name: broker_subject(broker, event)
            for name, event in (
                ("raw", SIGNALS_RAW), ("validated", SIGNALS_VALIDATED),
                ("rejected", SIGNALS_REJECTED), ("filled", ORDERS_FILLED),
                ("cancelled", ORDERS_CANCELLED), ("failed", ORDERS_FAILED),
            )
        }  # fmt: skip

    def inputs(self) -> Sequence[Input]:
        s = self._subjects
        return (
            Ordered(
                CONTROL_STREAM.name, control_wildcard(), self.on_control, ControlCommand,
                start_seq=lambda: self._control_seq + 1,
            ),
            Durable(
                self._stream, (s["raw"], s["filled"], s["cancelled"], s["failed"]),
                self.name, self.on_event, replay=True,
            ),
            # the ticks a signal may name, kept by the tap; no tick needs a handler here
            Ordered(
                MARKET_STREAM.name, MARKET_TICKS_ALL, self.on_tick, MarketTick, accept=_no_tick,
                tap=self.ticks.see,
            ),
            Timer(1.0, self.on_interval, name="read-models"),
        )  # fmt: skip

    async def on_start(self, bus: Bus) -> None:
        self.ticks.bus = bus
        async for msg in bus.replay(CONTROL_STREAM.name, [control_wildcard()], 1):
            command = decode_as(msg.data, ControlCommand).data
            self._control_state = apply_control(self._control_state, command, self.broker)
            self._control_seq = int(msg.metadata.sequence.stream)
        self.engine.set_trading_state(self._control_state)
        log.info("%s: trading state %s", self.name, self._control_state)

    async def on_control(self, env: Envelope[ControlCommand], ctx: Context) -> None:
        self._control_state = apply_control(self._control_state, env.data, self.broker)
        if self._control_state is not self.engine.trading_state:
            log.warning("%s: trading state %s -> %s (%s by %s)", self.name,
                        self.engine.trading_state, self._control_state, env.data.reason,
                        env.data.requested_by)  # fmt: skip
            self.engine.set_trading_state(self._control_state)

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        """Never called (`_no_tick` refuses every tick before it is decoded)."""

    async def on_event(self, env: Envelope[Event], ctx: Context) -> None:
        data = env.data
        if isinstance(data, TradingSignal):
            market: NamedTick | TickRefusal = _NOT_LOOKED_UP
            if self.engine.trades(data.strategy_id, data.instrument_token):
                # a signal of no configured strategy costs no read of MARKET: refused first
                market = await self.ticks.named_by(data, ctx.stored_ms)
            self._on_signal(env.id, data, env.ts, ctx, market)
        elif isinstance(data, OrderFilled):
            self.engine.on_fill(data)
        elif isinstance(data, OrderCancelled):
            self.engine.on_order_closed(data.client_order_id, data.filled_quantity)
        elif isinstance(data, OrderFailed):
            self.engine.on_order_closed(data.client_order_id, 0)

    def _on_signal(
        self,
        signal_id: str,
        signal: TradingSignal,
        ts: int,
        ctx: Context,
        market: NamedTick | TickRefusal,
    ) -> None:
        """Judge one signal against `market`, the tick it names as risk read it."""
        event_ts = ts
        if isinstance(market, NamedTick):
            # the market's time of the tick, else its publish time: never what a signal says
            event_ts = market.tick.exchange_timestamp_ns or market.ts
            day = trading_day(event_ts)
            if day != self.day:
                if self.day:
                    self.engine.new_day()
                self.day = day
            if self.engine.trades(signal.strategy_id, signal.instrument_token):
                self.engine.mark(signal.instrument_token, market.tick.last_price)
        client_order_id = signal_id  # deterministic: a replayed signal gets the same order id
        decision = self.engine.evaluate(signal, event_ts, client_order_id, market)
        key = str(signal.instrument_token)
        if self.stores is not None:
            self.stores.metrics.incr("validated" if decision.accepted else "rejected", self.broker)
        if decision.accepted:
            self.validated += 1
            ctx.emit(
                self._subjects["validated"],
                ValidatedSignal(signal_id=signal_id, client_order_id=client_order_id,
                                signal=signal, trading_state=self.engine.trading_state),
                key=key,
            )  # fmt: skip
        else:
            assert decision.reason is not None
            self.rejections[decision.reason] += 1
            self._unsent[decision.reason] += 1
            ctx.emit(
                self._subjects["rejected"],
                RejectedSignal(signal_id=signal_id, signal=signal, reason=decision.reason,
                               detail=decision.detail),
                key=key,
            )  # fmt: skip

    async def on_interval(self, ctx: Context) -> None:
        """Rejection counts by reason to the read models (best effort, batched per second)."""
        if self.stores is None or not self._unsent:
            return
        unsent, self._unsent = self._unsent, Counter()
        try:
            for reason, n in unsent.items():
                await self.stores.read_models.incr_rejection(self.broker, reason, n)
        except Exception as exc:
            self._unsent.update(unsent)
            log.warning("%s: read model write failed: %s", self.name, exc)

    def dump_state(self) -> RiskSnapshot:
        """The engine without the day's id history: an input at or below the snapshot's
        sequence is never handed to us again and the stream holds no duplicate fill, so
        only open orders' ids matter (the snapshot must fit in one KV value)."""
        engine = self.engine.state()
        engine = msgspec.structs.replace(engine, accepted_ids=set(engine.pending), fill_ids=set())
        return RiskSnapshot(engine=engine, day=self.day, validated=self.validated,
                            rejections=dict(self.rejections))  # fmt: skip

    def load_state(self, state: RiskSnapshot) -> None:
        self.engine.restore_state(state.engine)
        self.engine.set_trading_state(self._control_state)  # CONTROL is the later word
        self.day = state.day
        self.validated = state.validated
        self.rejections = Counter(state.rejections)

    def stats(self) -> dict[str, Any]:
        return {
            "pipeline": {
                "trading_state": str(self.engine.trading_state),
                "validated": self.validated,
                "rejected": sum(self.rejections.values()),
                "rejections": dict(self.rejections),
                "open_orders": self.engine.open_orders,
                "daily_pnl": str(self.engine.daily_pnl),
                "signal_ticks_read": self.ticks.reads,
            }
        }
