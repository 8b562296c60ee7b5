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
from typing import Any

from actors.control.state import apply_control
from actors.named_tick import NamedTick, NamedTicks, TickRefusal
from actors.risk.desk import RiskDesk, RiskSnapshot, trading_day
from actors.risk.engine import RiskEngine
from actors.risk.limits import RiskLimits
from actors.stores.shared import Stores
from schemas.enums import RejectReason, TradingState
from schemas.envelope import Envelope, decode_as
from schemas.events import (
    ControlCommand,
    Event,
    MarketTick,
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

_NOT_LOOKED_UP = TickRefusal(
    reason=RejectReason.UNKNOWN_TICK, detail="not looked up: the strategy may not trade it"
)


def _no_tick(subject: str) -> bool:
    return False


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
        self.desk = RiskDesk(limits, strategies)
        self.ticks = NamedTicks(limits.max_signal_tick_age_ms, tokens=self.desk.tokens)
        self.stores = stores
        self._unsent: Counter[str] = Counter()
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

    @property
    def engine(self) -> RiskEngine:
        return self.desk.engine

    @property
    def day(self) -> str:
        return self.desk.day

    @property
    def validated(self) -> int:
        return self.desk.validated

    @property
    def rejections(self) -> Counter[str]:
        return self.desk.rejections

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
        self.desk.set_trading_state(self._control_state)
        log.info("%s: trading state %s", self.name, self._control_state)

    async def on_control(self, env: Envelope[ControlCommand], ctx: Context) -> None:
        self._control_state = apply_control(self._control_state, env.data, self.broker)
        if self._control_state is not self.engine.trading_state:
            log.warning("%s: trading state %s -> %s (%s by %s)", self.name,
                        self.engine.trading_state, self._control_state, env.data.reason,
                        env.data.requested_by)  # fmt: skip
            self.desk.set_trading_state(self._control_state)

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        """Never called (`_no_tick` refuses every tick before it is decoded)."""

    async def on_event(self, env: Envelope[Event], ctx: Context) -> None:
        data = env.data
        if isinstance(data, TradingSignal):
            market: NamedTick | TickRefusal = _NOT_LOOKED_UP
            if self.desk.trades(data.strategy_id, data.instrument_token):
                # a signal of no configured strategy costs no read of MARKET: refused first
                market = await self.ticks.named_by(data, ctx.stored_ms)
            self._on_signal(env.id, data, env.ts, ctx, market)
        else:
            self.desk.on_order_event(data)

    def _on_signal(
        self,
        signal_id: str,
        signal: TradingSignal,
        ts: int,
        ctx: Context,
        market: NamedTick | TickRefusal,
    ) -> None:
        """Emit the desk's verdict on one signal (`market`: its tick as risk read it)."""
        verdict = self.desk.on_signal(signal_id, signal, ts, market)
        accepted = isinstance(verdict, ValidatedSignal)
        if self.stores is not None:
            self.stores.metrics.incr("validated" if accepted else "rejected", self.broker)
        if isinstance(verdict, RejectedSignal):
            self._unsent[verdict.reason] += 1
        subject = self._subjects["validated" if accepted else "rejected"]
        ctx.emit(subject, verdict, key=str(signal.instrument_token))

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
        return self.desk.state()

    def load_state(self, state: RiskSnapshot) -> None:
        self.desk.restore(state)
        self.desk.set_trading_state(self._control_state)  # CONTROL is the later word

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
