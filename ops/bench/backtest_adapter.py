"""The backtest bench's two ways to run strategies over ticks.

- `run_strategies`: "strategy only": each strategy's `on_tick`, no risk, execution or
  portfolio; what a strategy costs by itself.
- `run_engine`: the backtest engine (`ops.backtest.engine.run_backtest`): the desks
  `alpha-panda up` runs (strategies, risk, paper execution, portfolio) on the simulated
  clock, with the default risk limits and paper fill model.

Both take the ticks in chunks (one session each) built by the caller; the time spent
building a chunk is not counted. Each run is timed two ways: the process's CPU time
(`time.process_time`: what the one core the run uses spent on it, the rate the figures
report) and the wall clock (`wall_*`: the same on an idle core, and lower by however much
of the core other processes took on a shared machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from actors.instruments import Instrument, InstrumentBook
from actors.paper.matching import PaperConfig
from actors.risk.limits import RiskLimits
from actors.strategies.base import Strategy, StrategyParams
from actors.strategies.config import StrategyConfig
from actors.strategies.registry import strategy_type
from ops.backtest.engine import BacktestSpec, run_backtest
from schemas.events import MarketTick

__all__ = [
    "StrategySpec",
    "Figures",
    "run_strategies",
    "run_engine",
    "Stopwatch",
]

CAPITAL = Decimal(10_000_000)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    id: str
    type: str
    params: StrategyParams


@dataclass(slots=True)
class Figures:
    ticks: int = 0
    seconds: float = 0.0  # process CPU time
    signals: int = 0  # strategy only: signals; engine: fills
    sessions: int = 0
    wall_seconds: float = 0.0

    def as_dict(self, what: str = "signals") -> dict[str, Any]:
        rate = self.ticks / self.seconds if self.seconds else 0.0
        wall = self.ticks / self.wall_seconds if self.wall_seconds else 0.0
        return {"ticks": self.ticks, "seconds": round(self.seconds, 3),
                "ticks_per_s": round(rate), what: self.signals,
                "sessions": self.sessions, "wall_seconds": round(self.wall_seconds, 3),
                "wall_ticks_per_s": round(wall)}  # fmt: skip


class Stopwatch:
    """Process CPU time and wall-clock time, started together, read together."""

    __slots__ = ("cpu", "wall")

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def read(self) -> tuple[float, float]:
        return time.process_time() - self.cpu, time.perf_counter() - self.wall


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
        watch = Stopwatch()
        signals = 0
        for tick in chunk:
            ts = tick.exchange_timestamp_ns or 0
            for on_tick in calls:
                signals += len(on_tick(tick, ts))
        cpu, wall = watch.read()
        out.seconds += cpu
        out.wall_seconds += wall
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
    configs = tuple(StrategyConfig(s.id, s.type, tuple(instruments), s.params) for s in specs)
    spec = BacktestSpec(strategies=configs, book=book, risk_limits=RiskLimits(),
                        paper=PaperConfig(), capital=CAPITAL)  # fmt: skip
    out = Figures()
    building, building_wall = 0.0, 0.0

    def ticks() -> Iterator[tuple[int, MarketTick]]:
        nonlocal building, building_wall
        source = iter(chunks)
        while True:
            watch = Stopwatch()
            chunk = next(source, None)
            # the (event time, tick) pairs the engine reads are part of building the chunk
            pairs = None if chunk is None else [(t.exchange_timestamp_ns or 0, t) for t in chunk]
            cpu, wall = watch.read()
            building += cpu
            building_wall += wall
            if pairs is None:
                return
            out.ticks += len(pairs)
            out.sessions += 1
            yield from pairs

    watch = Stopwatch()
    run = run_backtest(ticks(), spec)
    cpu, wall = watch.read()
    out.seconds, out.wall_seconds = cpu - building, wall - building_wall
    out.signals = len(run.result.fills)
    return out
