"""`alpha-panda bench backtest`: how fast strategies run over history, against backtrader.

Three data sets: the shipped sample (seven stocks, five days of one-minute candles), a
generated year of one-minute candles for 50 instruments (250 sessions of 375 minutes,
GBM with numpy, fixed seed: 4,687,500 candles, 18,750,000 ticks), and one instrument's
year of those candles for the backtrader anchor. Candles become ticks by the loader's
convention (four a candle, `ops/backtest/candles.py`).

Figures: ticks per second for one moving-average crossover (`momentum` 5/20) and for five
strategies at once, on one core; and the same crossover in backtrader (SMA 5/20
`CrossOver` on the bar close, `stdstats=False`) on the same instrument-year, as bars per
second, with `backtrader_ratio` = our bars per second over backtrader's. For the anchor each
candle is one tick of ours, its close (`close_ticks`): the same series backtrader's
crossover reads, so both run the same crossover (long or flat, MA 5/20 of bar closes) and
one tick is one bar; the loader's four ticks a candle would be a finer crossover on four
times the events (reported as `engine_four_ticks_a_candle`, candles per second).
Ticks are built outside the timing (in chunks of one session), so the figure is the run's,
not the tick construction's. Each figure is taken two ways (`ops/bench/backtest_adapter.py`):
"strategy only" (the strategies' `on_tick`) and through the backtest engine (strategies,
risk, paper execution, portfolio); the headline figures (`ticks_per_s`, `backtrader_ratio`)
are the engine's (`mode`).
The engine runs one MA over the first `ENGINE_SESSIONS` sessions of the year.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from actors.feed.gbm import TRADING_SECONDS_PER_YEAR
from actors.instruments import Instrument, InstrumentBook
from actors.strategies.mean_reversion import MeanReversionParams
from actors.strategies.momentum import MomentumParams
from actors.strategies.rsi import RsiParams
from ops.backtest.candles import IST, TICK_OFFSETS_S, Candle, candle_ticks
from ops.backtest.data import load_market_data
from ops.bench.backtest_adapter import (
    Figures,
    Stopwatch,
    StrategySpec,
    run_engine,
    run_strategies,
)
from schemas.events import MarketTick

__all__ = [
    "run_backtest_bench",
    "generate_candles",
    "session_ticks",
    "YearCandles",
    "ONE_MA",
    "FIVE",
]

ENGINE_SESSIONS = 10  # sessions of the year one MA runs through the engine (the whole
# year would take minutes there); strategy only runs all of them
SESSION_MINUTES = 375
SUBSTEPS = 4  # price steps inside a candle, for its high and low
FIRST_SESSION = datetime(2024, 1, 1, 9, 15, tzinfo=IST)
_NS = 1_000_000_000


@dataclass(frozen=True)
class YearCandles:
    """Candles as numpy arrays, shape (instruments, sessions x 375), prices in paise."""

    instruments: tuple[Instrument, ...]
    sessions: int
    open: Any
    high: Any
    low: Any
    close: Any
    volume: Any

    @property
    def candles(self) -> int:
        return int(self.open.size)

    def session_start_ns(self, session: int) -> int:
        day = FIRST_SESSION + timedelta(days=session + 2 * (session // 5))  # weekdays only
        return int(day.timestamp()) * _NS


def synthetic_instruments(n: int) -> tuple[Instrument, ...]:
    """`n` NSE-like instruments: the shipped ones first, then generated ones."""
    shipped = list(InstrumentBook.default())[:n]
    extra = [
        Instrument(instrument_token=10_000_001 + i * 256, tradingsymbol=f"GEN{i:02d}",
                   exchange="NSE", tick_size=Decimal("0.05"), lot_size=1,
                   base_price=Decimal(200 + 37 * i), annual_volatility=0.2 + 0.005 * i)
        for i in range(n - len(shipped))
    ]  # fmt: skip
    return (*shipped, *extra)


def generate_candles(instruments: int, sessions: int, seed: int = 14) -> YearCandles:
    """One-minute candles by GBM with numpy: deterministic for (instruments, sessions, seed)."""
    import numpy as np

    insts = synthetic_instruments(instruments)
    minutes = sessions * SESSION_MINUTES
    rng = np.random.default_rng(seed)
    shape = (len(insts), minutes)
    o, h, lo, c = (np.empty(shape, dtype=np.int64) for _ in range(4))
    dt = 60 / SUBSTEPS / TRADING_SECONDS_PER_YEAR
    for k, inst in enumerate(insts):
        sigma = inst.annual_volatility
        steps = rng.standard_normal(minutes * SUBSTEPS) * (sigma * dt**0.5) - 0.5 * sigma**2 * dt
        path = float(inst.base_price) * np.exp(np.concatenate(([0.0], np.cumsum(steps))))
        paise = np.maximum(np.rint(path * 20) * 5, 5).astype(np.int64)  # 0.05 grid, in paise
        bars = np.lib.stride_tricks.sliding_window_view(paise, SUBSTEPS + 1)[::SUBSTEPS]
        o[k], c[k] = bars[:, 0], bars[:, -1]
        h[k], lo[k] = bars.max(axis=1), bars.min(axis=1)
    volume = rng.integers(1, 5_000, size=shape, dtype=np.int64)
    return YearCandles(insts, sessions, o, h, lo, c, volume)


def session_ticks(year: YearCandles, session: int, count: int | None = None) -> list[MarketTick]:
    """One session's ticks of the first `count` instruments, in time order."""
    insts = year.instruments[:count] if count else year.instruments
    start = year.session_start_ns(session)
    lo_i, hi_i = session * SESSION_MINUTES, (session + 1) * SESSION_MINUTES
    cache: dict[int, Decimal] = {}

    def dec(paise: int) -> Decimal:
        value = cache.get(paise)
        if value is None:
            value = cache[paise] = Decimal(paise).scaleb(-2)
        return value

    columns = [(year.open[k, lo_i:hi_i].tolist(), year.high[k, lo_i:hi_i].tolist(),
                year.low[k, lo_i:hi_i].tolist(), year.close[k, lo_i:hi_i].tolist(),
                year.volume[k, lo_i:hi_i].tolist()) for k in range(len(insts))]  # fmt: skip

    def candles(k: int) -> Iterator[Candle]:
        o, h, lo, c, v = columns[k]
        for m in range(SESSION_MINUTES):
            yield Candle(0, start + m * 60 * _NS, insts[k], dec(o[m]), dec(h[m]), dec(lo[m]),
                         dec(c[m]), v[m])  # fmt: skip

    ticks = [t for k in range(len(insts)) for t in candle_ticks(candles(k))]
    ticks.sort(key=lambda t: (t.exchange_timestamp_ns or 0, t.instrument_token))
    return ticks


ONE_MA = (StrategySpec("ma_5_20", "momentum", MomentumParams()),)
FIVE = (
    *ONE_MA,
    StrategySpec("ma_10_40", "momentum", MomentumParams(fast_window=10, slow_window=40)),
    StrategySpec("ma_20_80", "momentum", MomentumParams(fast_window=20, slow_window=80)),
    StrategySpec("mr_20", "mean_reversion", MeanReversionParams()),
    StrategySpec("rsi_14", "rsi", RsiParams()),
)


def _both(
    specs: Sequence[StrategySpec],
    instruments: Sequence[Instrument],
    chunks: Callable[[], Iterable[Sequence[MarketTick]]],
    book: InstrumentBook,
) -> dict[str, Any]:
    """Strategy only, and through the engine."""
    return {"strategy_only": run_strategies(specs, instruments, chunks()).as_dict(),
            "engine": run_engine(specs, instruments, chunks(), book).as_dict("fills")}  # fmt: skip


def _on_sample() -> dict[str, Any]:
    data = load_market_data("sample")
    book = InstrumentBook.default()
    insts = [i for i in (book.get(t) for t in data.instruments) if i is not None]
    return {name: _both(specs, insts, lambda: [data.ticks], book)
            for name, specs in (("one_ma", ONE_MA), ("five", FIVE))}  # fmt: skip


def _on_year(
    year: YearCandles,
    runs: dict[str, tuple[Sequence[StrategySpec], int, int]],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """`runs`: name -> (strategies, sessions strategy only, sessions through the engine)."""
    book = InstrumentBook(year.instruments)
    out = {}
    for name, (specs, alone, engined) in runs.items():
        say(f"  {name}: {alone} sessions strategy only, {engined} engine")
        out[name] = {
            "strategy_only": run_strategies(
                specs, year.instruments, _sessions(year, alone, f"{name} strategy only", say)
            ).as_dict()
        }
        chunks = _sessions(year, engined, f"{name} engine", say)
        out[name]["engine"] = run_engine(specs, year.instruments, chunks, book).as_dict("fills")
    return out  # fmt: skip


def _sessions(
    year: YearCandles, count: int, what: str, say: Callable[[str], None]
) -> Iterator[list[MarketTick]]:
    """The first `count` sessions' ticks, saying how far it got every 25 sessions."""
    for s in range(count):
        if s and s % 25 == 0:
            say(f"    {what}: session {s}/{count}")
        yield session_ticks(year, s)


def _backtrader_anchor(year: YearCandles) -> dict[str, Any]:
    """The same crossover in backtrader and here, on instrument 0's candles."""
    import backtrader as bt

    n = year.open.shape[1]
    starts = [year.session_start_ns(m // SESSION_MINUTES) + (m % SESSION_MINUTES) * 60 * _NS
              for m in range(n)]  # fmt: skip
    columns = [a[0].tolist() for a in (year.open, year.high, year.low, year.close, year.volume)]

    class Feed(bt.feed.DataBase):  # type: ignore[misc]
        def start(self) -> None:
            super().start()
            self._i = 0

        def _load(self) -> bool:
            i = self._i
            if i >= n:
                return False
            when = datetime.fromtimestamp(starts[i] / _NS, IST).replace(tzinfo=None)
            self.lines.datetime[0] = bt.date2num(when)
            self.lines.open[0], self.lines.high[0] = columns[0][i] / 100, columns[1][i] / 100
            self.lines.low[0], self.lines.close[0] = columns[2][i] / 100, columns[3][i] / 100
            self.lines.volume[0], self.lines.openinterest[0] = columns[4][i], 0
            self._i = i + 1
            return True

    class Cross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=5), bt.ind.SMA(period=20))
            self.orders = 0

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=1)
                self.orders += 1
            elif self.cross[0] < 0 and self.position:
                self.close()
                self.orders += 1

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(Feed())
    cerebro.addstrategy(Cross)
    watch = Stopwatch()
    result = cerebro.run()
    bt_seconds, bt_wall = watch.read()
    first = year.instruments[:1]
    sessions = range(year.sessions)
    ours = run_strategies(ONE_MA, first, (close_ticks(year, s) for s in sessions))
    bt_rate, bt_wall_rate = n / bt_seconds, n / bt_wall
    out = {"bars": n, "backtrader_seconds": round(bt_seconds, 3),
           "backtrader_bars_per_s": round(bt_rate), "backtrader_orders": result[0].orders,
           "backtrader_wall_seconds": round(bt_wall, 3),
           "backtrader_wall_bars_per_s": round(bt_wall_rate),
           "strategy_only": _against(ours, n, bt_rate, bt_wall_rate, "bars_per_s")}  # fmt: skip
    chunks = (close_ticks(year, s) for s in sessions)
    run = run_engine(ONE_MA, first, chunks, InstrumentBook(first))
    out["engine"] = _against(run, n, bt_rate, bt_wall_rate, "bars_per_s", "fills")
    # for reference: the four ticks a candle of the loader's convention, over candles/s
    # (a finer crossover, on four times the events, so not the anchor's comparison)
    chunks = (session_ticks(year, s, count=1) for s in sessions)
    run = run_engine(ONE_MA, first, chunks, InstrumentBook(first))
    out["engine_four_ticks_a_candle"] = _against(
        run, n, bt_rate, bt_wall_rate, "candles_per_s", "fills"
    )
    return out


def _against(
    ours: Figures, n: int, bt_rate: float, bt_wall_rate: float, unit: str, what: str = "signals"
) -> dict[str, Any]:
    """Our run over the anchor's `n` bars, as a rate and as a ratio to backtrader's, by CPU
    time (the headline) and by the wall clock (`wall_`)."""
    rate, wall = n / ours.seconds, n / ours.wall_seconds
    return {**ours.as_dict(what), unit: round(rate), "ratio": round(rate / bt_rate, 2),
            f"wall_{unit}": round(wall), "wall_ratio": round(wall / bt_wall_rate, 2)}  # fmt: skip


def close_ticks(year: YearCandles, session: int) -> list[MarketTick]:
    """Instrument 0's session as one tick a candle, its close (at +59 s): the series
    backtrader's SMA crossover reads (the bar close), one event per bar."""
    per = len(TICK_OFFSETS_S)  # ticks a candle, the close last
    return session_ticks(year, session, count=1)[per - 1 :: per]


def run_backtest_bench(
    *,
    quick: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """The whole benchmark; `quick` shrinks the generated data to 5 instruments x 5 sessions."""
    instruments, sessions = (5, 5) if quick else (50, 250)
    runs: dict[str, tuple[Sequence[StrategySpec], int, int]] = {
            "one_ma": (ONE_MA, sessions, 5 if quick else ENGINE_SESSIONS),
            "five": (FIVE, 5, 2)}  # fmt: skip
    load = os.getloadavg()
    say(f"load average {load[0]:.2f}; shipped sample ...")
    sample = _on_sample()
    say(f"generating {instruments} instruments x {sessions} sessions of one-minute candles ...")
    started = time.perf_counter()
    year = generate_candles(instruments, sessions)
    generated_s = time.perf_counter() - started
    say(f"  {year.candles} candles in {generated_s:.1f} s; running ...")
    generated = _on_year(year, runs, say)
    say("backtrader anchor (one instrument, every session) ...")
    anchor = _backtrader_anchor(year)
    key = "engine"
    return {
        "bench": "backtest",
        "mode": "engine",
        "clock": "process CPU time (wall clock in wall_*)",
        "quick": quick,
        "ticks_per_s": generated["one_ma"][key]["ticks_per_s"],
        "five_ticks_per_s": generated["five"][key]["ticks_per_s"],
        "backtrader_ratio": anchor[key]["ratio"],
        "strategy_only_ticks_per_s": generated["one_ma"]["strategy_only"]["ticks_per_s"],
        "wall_ticks_per_s": generated["one_ma"][key]["wall_ticks_per_s"],
        "wall_backtrader_ratio": anchor[key]["wall_ratio"],
        "load_average": [round(x, 2) for x in (*load, *os.getloadavg())],
        "sample": sample,
        "generated": {
            "instruments": instruments,
            "sessions": sessions,
            "candles": year.candles,
            "generate_seconds": round(generated_s, 2),
            **generated,
        },
        "backtrader": anchor,
    }
