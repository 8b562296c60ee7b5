"""The strategy runner (one per broker): ticks in, `<broker>.signals.raw` out.

Ticks arrive through an ordered consumer on `MARKET` (gap-free, no acks), filtered by
subject to the instruments some strategy trades before anything is decoded. The windows of
every strategy are snapshotted with the stream sequence they include; after a crash the
runner restores them and resumes right after that sequence, re-emitting the same signals,
which JetStream drops as duplicates (their msg ids derive from the tick's id).

Every signal names its tick (`tick_seq`, its MARKET sequence, and `tick_id`, its envelope
id): downstream, that tick as read from MARKET prices the signal, not the prices it carries.
"""

from __future__ import annotations

import logging
import operator
import time
from collections import Counter
from collections.abc import Sequence
from functools import reduce
from typing import Any

from actors.errors import InvalidTick, TickProblem
from actors.feed.validation import validate_tick
from actors.instruments import InstrumentBook
from actors.stores.pipeline_metrics import PipelineMetrics
from actors.strategies.base import StrategySnapshot
from actors.strategies.config import StrategyConfig, build_strategies
from actors.strategies.desk import StrategyDesk
from actors.strategies.registry import STRATEGY_TYPES
from actors.strategies.router import StrategyRouter
from schemas.envelope import Envelope
from schemas.events import MarketTick
from schemas.names import (
    MARKET_STREAM,
    MARKET_TICKS_ALL,
    SIGNALS_RAW,
    TICK_PREFIX,
    Broker,
    broker_subject,
)
from supervisors.actor import Actor, Context, Input, Ordered

__all__ = ["StrategyRunner", "StrategiesSnapshot", "strategies_state_type"]

log = logging.getLogger(__name__)

_TICK_PREFIX = len(TICK_PREFIX)


# The runner's snapshot: strategy id → that strategy's `snapshot()`, each decoded as the
# Struct of its kind (the tag); `Strategy.restore` checks kind and version.
StrategiesSnapshot = dict[str, StrategySnapshot[Any]]


def strategies_state_type() -> Any:
    """What decodes as a StrategiesSnapshot: every kind registered by now (a benchmark
    registers its own strategy when it is imported, after this module)."""
    kinds = reduce(operator.or_, (c.snapshot_type for c in STRATEGY_TYPES.values()))
    return dict[str, kinds]  # type: ignore[valid-type]


class StrategyRunner(Actor):
    broker: Broker
    mailbox_size = 4096
    snapshot_interval_s = 2.0

    def __init__(
        self,
        broker: Broker,
        configs: Sequence[StrategyConfig],
        book: InstrumentBook,
        metrics: PipelineMetrics | None = None,
    ) -> None:
        self.broker = broker
        self.name = f"strategies-{broker}"
        self.snapshot_key = f"strategies-{broker}"
        self.state_type = strategies_state_type()
        self.book = book
        self.metrics = metrics
        self.desk = StrategyDesk(build_strategies(configs, broker))
        self._tokens = {str(t) for t in self.router.tokens}
        self._subject = broker_subject(broker, SIGNALS_RAW)
        self.ticks = 0
        self.signals = 0
        self.invalid_ticks = 0  # ticks this runner dead-lettered (undecodable or invalid)
        self.strategy_errors: Counter[str] = Counter()
        self.last_strategy_error: str | None = None
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)

    @property
    def router(self) -> StrategyRouter:
        return self.desk.router

    def inputs(self) -> Sequence[Input]:
        return (
            Ordered(
                MARKET_STREAM.name,
                MARKET_TICKS_ALL,
                self.on_tick,
                MarketTick,
                accept=self._trades,
                resume=True,
            ),
        )

    def _trades(self, subject: str) -> bool:
        return subject[_TICK_PREFIX:] in self._tokens

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        tick = env.data
        if ctx.subject[_TICK_PREFIX:] != str(tick.instrument_token):
            raise InvalidTick(
                TickProblem.SUBJECT_MISMATCH,
                f"published on {ctx.subject} but its body names instrument "
                f"{tick.instrument_token}; publish each tick on market.ticks.<its token>",
                instrument_token=tick.instrument_token,
            )
        validate_tick(tick, self.book)  # InvalidTick: dead-lettered by the runtime
        self.ticks += 1
        # the desk names the tick: risk and execution price the signal from it, from MARKET
        result = self.desk.on_tick(tick, env.ts, ctx.seq, env.id)
        for signal in result.signals:
            ctx.emit(self._subject, signal, key=str(signal.instrument_token))
        self.signals += len(result.signals)
        if self.metrics is not None:
            self.metrics.incr("ticks", self.broker)
            if result.signals:
                self.metrics.incr("signals", self.broker, len(result.signals))
        for strategy_id, exc in result.errors:
            self.strategy_errors[strategy_id] += 1
            self.last_strategy_error = f"{strategy_id}: {type(exc).__name__}: {exc}"
            if self.strategy_errors[strategy_id] in (1, 10, 100, 1000):
                log.error(
                    "%s: strategy %s raised on %s (%d times so far): %s",
                    self.name, strategy_id, tick.symbol or tick.instrument_token,
                    self.strategy_errors[strategy_id], exc,
                )  # fmt: skip

    def on_dead_letter(self, subject: str, error_type: str) -> None:
        # a tick that did not decode or validate here (published by someone other than the
        # feed, which refuses its own before they leave): the broker's invalid ticks
        if subject.startswith(TICK_PREFIX):
            self.invalid_ticks += 1

    def dump_state(self) -> StrategiesSnapshot:
        return {s.strategy_id: s.snapshot() for s in self.router.strategies}

    def load_state(self, state: StrategiesSnapshot) -> None:
        for strategy in self.router.strategies:
            saved = state.get(strategy.strategy_id)
            if saved is not None:
                strategy.restore(saved)

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        mark_t, mark_n = self._rate_mark
        if now - mark_t >= 1.0:
            self._rate = (self.ticks - mark_n) / (now - mark_t)
            self._rate_mark = (now, self.ticks)
        return {
            "pipeline": {
                "ticks": self.ticks,
                "ticks_per_s": round(self._rate, 1),
                "signals": self.signals,
                "strategy_errors": sum(self.strategy_errors.values()),
                "invalid_ticks": self.invalid_ticks,
            },
            "strategies": len(self.router.strategies),
            "last_strategy_error": self.last_strategy_error,
        }
