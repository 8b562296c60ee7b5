"""The risk desk of one broker: a signal and the tick it names in, a verdict out. Pure.

Everything the risk manager decides lives here, so the live actor and the backtest judge
alike: the time a signal is judged on (the market's time of its tick: the exchange
timestamp, else the tick's publish time; never a time the signal claims), the trading-day
rollover that restarts the daily loss limit, the mark of the instrument, the client order
id (the signal's id: a replayed signal gets the same order), and the counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

import msgspec

from actors.named_tick import NamedTick, TickRefusal
from actors.risk.engine import RiskEngine, RiskState
from actors.risk.limits import RiskLimits
from schemas.enums import TradingState
from schemas.events import (
    Event,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)

__all__ = ["RiskDesk", "RiskSnapshot", "trading_day", "IST"]

IST = timedelta(hours=5, minutes=30)
_MS = 1_000_000
_DAY_NS = 86_400 * 1_000_000_000


def trading_day(ts_ns: int) -> str:
    """The IST calendar date of an event time: the daily loss limit restarts with it."""
    return (datetime.fromtimestamp(ts_ns / 1e9, UTC) + IST).date().isoformat()


class RiskSnapshot(msgspec.Struct, kw_only=True):
    """The risk desk's state: the engine, and the day's figures for the read models."""

    engine: RiskState
    day: str = ""
    validated: int = 0
    rejections: dict[str, int] = msgspec.field(default_factory=dict)


class RiskDesk:
    """Pre-trade risk for one broker: judges signals, follows the orders it let through."""

    def __init__(
        self, limits: RiskLimits, strategies: Mapping[str, Collection[int]] | None = None
    ) -> None:
        """`strategies`: strategy id -> the tokens it may trade on this broker."""
        self.engine = RiskEngine(limits, strategies)
        self.day = ""
        self.validated = 0
        self.rejections: Counter[str] = Counter()
        # `trading_day` of the last event time, and the IST day's bounds in ns around it:
        # a signal inside them needs no date arithmetic
        self._day_of, self._day_from, self._day_to = "", 0, 0

    def _day_bounds(self, ts_ns: int) -> None:
        # a millisecond inside each bound, where `trading_day`'s float seconds cannot
        # round across midnight; outside, every event time gets `trading_day` itself
        self._day_of = trading_day(ts_ns)
        start = datetime.combine(date.fromisoformat(self._day_of), dt_time(), UTC) - IST
        ns = int(start.timestamp()) * 1_000_000_000
        self._day_from, self._day_to = ns + _MS, ns + _DAY_NS - _MS

    @property
    def tokens(self) -> frozenset[int]:
        """Every instrument some strategy may trade: the ticks a signal may name."""
        return frozenset().union(*self.engine.strategies.values())

    def trades(self, strategy_id: str, instrument_token: int) -> bool:
        return self.engine.trades(strategy_id, instrument_token)

    def on_signal(
        self, signal_id: str, signal: TradingSignal, now_ns: int, market: NamedTick | TickRefusal
    ) -> ValidatedSignal | RejectedSignal:
        """Judge `signal` against `market`, the tick it names as risk read it; `now_ns` is
        the time of the signal's arrival, used only when no tick prices it."""
        event_ts = now_ns
        if isinstance(market, NamedTick):
            event_ts = market.tick.exchange_timestamp_ns or market.ts
            if not self._day_from <= event_ts < self._day_to:
                self._day_bounds(event_ts)
            day = self._day_of
            if day != self.day:
                if self.day:
                    self.engine.new_day()
                self.day = day
            if self.engine.trades(signal.strategy_id, signal.instrument_token):
                self.engine.mark(signal.instrument_token, market.tick.last_price)
        client_order_id = signal_id  # deterministic: a replayed signal gets the same order id
        decision = self.engine.evaluate(signal, event_ts, client_order_id, market)
        if decision.accepted:
            self.validated += 1
            return ValidatedSignal(
                signal_id=signal_id, client_order_id=client_order_id, signal=signal,
                trading_state=self.engine.trading_state,
            )  # fmt: skip
        assert decision.reason is not None
        self.rejections[decision.reason] += 1
        return RejectedSignal(
            signal_id=signal_id, signal=signal, reason=decision.reason, detail=decision.detail
        )

    def on_order_event(self, event: Event) -> None:
        """A fill, cancel or failure of an order: positions, PnL and open orders follow."""
        if isinstance(event, OrderFilled):
            self.engine.on_fill(event)
        elif isinstance(event, OrderCancelled):
            self.engine.on_order_closed(event.client_order_id, event.filled_quantity)
        elif isinstance(event, OrderFailed):
            self.engine.on_order_closed(event.client_order_id, 0)

    def set_trading_state(self, state: TradingState) -> None:
        self.engine.set_trading_state(state)

    def state(self) -> RiskSnapshot:
        """The engine without the day's id history: an input at or below a snapshot's
        sequence is never handed to the desk again and the stream holds no duplicate fill,
        so only open orders' ids matter (the snapshot must fit in one KV value)."""
        engine = self.engine.state()
        engine = msgspec.structs.replace(engine, accepted_ids=set(engine.pending), fill_ids=set())
        return RiskSnapshot(engine=engine, day=self.day, validated=self.validated,
                            rejections=dict(self.rejections))  # fmt: skip

    def restore(self, state: RiskSnapshot) -> None:
        self.engine.restore_state(state.engine)
        self.day = state.day
        self.validated = state.validated
        self.rejections = Counter(state.rejections)
