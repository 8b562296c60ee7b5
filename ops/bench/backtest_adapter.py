"""The backtest bench's two ways to run strategies over ticks.

- `run_strategies`: "strategy only": each strategy's `on_tick`, no risk, execution or
  portfolio; what a strategy costs by itself.
- `run_engine`: the backtest engine (`ops.backtest.engine.run_backtest`): the desks
  `alpha-panda up` runs (strategies, risk, paper execution, portfolio) on the simulated
  clock. Looked up at run time: `engine_available()` says whether this build has it.

Both take the ticks in chunks (one session each) built by the caller; the time spent
building a chunk is not counted.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from actors.instruments import Instrument, InstrumentBook
from actors.strategies.base import Strategy, StrategyParams
from actors.strategies.registry import strategy_type
from schemas.events import MarketTick

__all__ = [
    "ENGINE_MODULE",
    "StrategySpec",
    "Figures",
    "engine_available",
    "run_strategies",
    "run_engine",
]

ENGINE_MODULE = "ops.backtest.engine"
CAPITAL = Decimal(10_000_000)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    id: str
    type: str
    params: StrategyParams


@dataclass(slots=True)
class Figures:
    ticks: int = 0
    seconds: float = 0.0
    signals: int = 0  # strategy only: signals; engine: fills
    sessions: int = 0

    def as_dict(self, what: str = "signals") -> dict[str, Any]:
        rate = self.ticks / self.seconds if self.seconds else 0.0
        return {"ticks": self.ticks, "seconds": round(self.seconds, 3),
                "ticks_per_s": round(rate), what: self.signals,
                "sessions": self.sessions}  # fmt: skip


def engine_available() -> bool:
    return importlib.util.find_spec(ENGINE_MODULE) is not None


def run_strategies(
    specs: Sequence[StrategySpec],
    instruments: Sequence[Instrument],
    chunks: Iterable[Sequence[MarketTick]],
) -> Figures:
    strategies: list[Strategy[Any]] = [
        strategy_type(s.type)(s.id, instruments, s.params) for s in specs
    ]
    calls = [s.on_tick for s in strategies]
    out = Figures()
    for chunk in chunks:
        started = time.perf_counter()
        signals = 0
        for tick in chunk:
            ts = tick.exchange_timestamp_ns or 0
            for on_tick in calls:
                signals += len(on_tick(tick, ts))
        out.seconds += time.perf_counter() - started
        out.ticks += len(chunk)
        out.signals += signals
        out.sessions += 1
    return out


def run_engine(
    specs: Sequence[StrategySpec],
    instruments: Sequence[Instrument],
    chunks: Iterable[Sequence[MarketTick]],
    book: InstrumentBook,
) -> Figures:
    """One engine run over every chunk; `signals` counts the fills."""
    engine: Any = importlib.import_module(ENGINE_MODULE)
    config: Any = importlib.import_module("actors.strategies.config")
    matching: Any = importlib.import_module("actors.paper.matching")
    limits: Any = importlib.import_module("actors.risk.limits")
    configs = tuple(config.StrategyConfig(s.id, s.type, tuple(instruments), s.params)
                    for s in specs)  # fmt: skip
    spec = engine.BacktestSpec(strategies=configs, book=book, risk_limits=limits.RiskLimits(),
                               paper=matching.PaperConfig(), capital=CAPITAL)  # fmt: skip
    out = Figures()
    building = 0.0

    def ticks() -> Iterator[tuple[int, MarketTick]]:
        nonlocal building
        source = iter(chunks)
        while True:
            started = time.perf_counter()
            chunk = next(source, None)
            building += time.perf_counter() - started
            if chunk is None:
                return
            out.ticks += len(chunk)
            out.sessions += 1
            for tick in chunk:
                yield tick.exchange_timestamp_ns or 0, tick

    started = time.perf_counter()
    run = engine.run_backtest(ticks(), spec)
    out.seconds = time.perf_counter() - started - building
    out.signals = len(run.result.fills)
    return out
