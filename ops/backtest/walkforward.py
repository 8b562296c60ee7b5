"""Walk-forward: pick parameters on one stretch of days, then trade them on the next.

The data's trading days (IST dates with ticks) are cut into rolling windows. With
`in=K,out=M`, window j has the K in-sample days from day j·M and the M out-of-sample days
right after them; windows go on while an out-of-sample day is left, so the last one may
have fewer than M. With `N` (splits), M = D // (N + 1) and K = D - N·M of the D days:
exactly N windows whose out-of-sample stretches run to the last day. Either way the
out-of-sample stretches follow one another without a gap or an overlap.

In each window every grid point runs on the in-sample days, the best by the sort metric
(ties: the grid's order) is chosen, and that point alone runs on the out-of-sample days.
Every run starts flat with the whole capital and cold strategies (no warm-up ticks from
before its window). The aggregate out-of-sample curve adds the windows' profit and loss
one after another onto the capital (strategies trade fixed lots, so a window's PnL does
not depend on the equity it starts from); its trades are all the windows' trades.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ops.backtest.engine import BacktestSpec
from ops.backtest.errors import SweepError
from ops.backtest.grid import Grid, GridPoint
from ops.backtest.ist import IST, ist_date
from ops.backtest.ranking import Metric, SweepRow, rank
from ops.backtest.results import BacktestResult, EquityPoint
from ops.backtest.summary import summarise
from ops.backtest.sweep import RunTask, Ticks, run_tasks

__all__ = [
    "WalkForwardPlan",
    "Window",
    "WindowOutcome",
    "WalkForward",
    "parse_walk_forward",
    "trading_days",
    "windows",
    "chain_results",
    "walk_forward",
]


@dataclass(frozen=True, slots=True)
class WalkForwardPlan:
    """`splits` windows, or windows of `in_days` in-sample and `out_days` out-of-sample."""

    splits: int | None = None
    in_days: int = 0
    out_days: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    number: int
    in_days: tuple[date, ...]
    out_days: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    window: Window
    in_sample: list[SweepRow]
    """Every grid point on the in-sample days, ranked; the first is the chosen one."""
    out_of_sample: SweepRow
    """The chosen point on the out-of-sample days."""
    result: BacktestResult

    @property
    def chosen(self) -> SweepRow:
        return self.in_sample[0]


@dataclass(frozen=True, slots=True)
class WalkForward:
    windows: list[WindowOutcome]
    aggregate: SweepRow
    """The out-of-sample runs chained (`chain_results`)."""
    aggregate_result: BacktestResult


def parse_walk_forward(text: str) -> WalkForwardPlan:
    """`N` (that many windows) or `in=K,out=M` (trading days)."""
    if text.strip().isdigit():
        splits = int(text)
        if splits < 1:
            raise SweepError(f"--walk-forward {text}: give at least 1 window")
        return WalkForwardPlan(splits=splits)
    pairs = dict(part.partition("=")[::2] for part in text.replace(" ", "").split(","))
    if set(pairs) == {"in", "out"} and all(v.isdigit() for v in pairs.values()):
        in_days, out_days = int(pairs["in"]), int(pairs["out"])
        if in_days < 1 or out_days < 1:
            raise SweepError(f"--walk-forward {text}: in and out are at least 1 trading day")
        return WalkForwardPlan(in_days=in_days, out_days=out_days)
    raise SweepError(
        f"--walk-forward {text!r}: give a number of windows (3) or in-sample and "
        "out-of-sample trading days (in=5,out=2)"
    )


def _midnight_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=IST).timestamp()) * 10**9


def trading_days(times: Sequence[int]) -> list[date]:
    """The IST dates of `times` (ns, sorted), in order."""
    days: list[date] = []
    i = 0
    while i < len(times):
        day = ist_date(times[i])
        days.append(day)
        i = bisect.bisect_left(times, _midnight_ns(day + timedelta(days=1)), lo=i)
    return days


def windows(days: Sequence[date], plan: WalkForwardPlan) -> list[Window]:
    """The windows of `plan` over `days` (consecutive trading days)."""
    total = len(days)
    if plan.splits is not None:
        if total < plan.splits + 1:
            raise SweepError(
                f"--walk-forward {plan.splits}: needs at least {plan.splits + 1} trading days "
                f"(one in-sample and one out-of-sample per window); the data has {total}: "
                "give fewer windows or more data"
            )
        out = total // (plan.splits + 1)
        size = total - plan.splits * out
    else:
        size, out = plan.in_days, plan.out_days
        if total < size + 1:
            raise SweepError(
                f"--walk-forward in={size},out={out}: needs at least {size + 1} trading days; "
                f"the data has {total} ({_span(days)}): shorten in= or give more data"
            )
    found: list[Window] = []
    start = 0
    while start + size < total:
        found.append(
            Window(
                number=len(found) + 1,
                in_days=tuple(days[start : start + size]),
                out_days=tuple(days[start + size : start + size + out]),
            )
        )
        start += out
    return found


def _span(days: Sequence[date]) -> str:
    return f"{days[0]} to {days[-1]}" if days else "no days"


def _bounds(times: Sequence[int], days: Sequence[date]) -> tuple[int, int]:
    lo = bisect.bisect_left(times, _midnight_ns(days[0]))
    hi = bisect.bisect_left(times, _midnight_ns(days[-1] + timedelta(days=1)), lo=lo)
    return lo, hi


def chain_results(results: Sequence[BacktestResult], capital: Decimal) -> BacktestResult:
    """Consecutive runs as one: each series adds a run's PnL (its points less its first)
    onto where the previous run left it; fills and findings in order."""
    equity: dict[str, list[EquityPoint]] = {}
    for result in results:
        for name, points in result.equity.items():
            if not points:
                continue
            chained = equity.setdefault(name, [])
            level = chained[-1].equity if chained else points[0].equity
            base = points[0].equity
            chained += [EquityPoint(ts_ns=p.ts_ns, equity=level + p.equity - base) for p in points]
    return BacktestResult(
        capital=capital, start_ns=results[0].start_ns, end_ns=results[-1].end_ns,
        equity=equity, fills=[f for r in results for f in r.fills],
        findings=[f"window {n}: {f}" for n, r in enumerate(results, start=1) for f in r.findings],
        config=dict(results[0].config), risk_free_rate=results[0].risk_free_rate,
    )  # fmt: skip


def walk_forward(
    ticks: Ticks,
    spec: BacktestSpec,
    grid: Grid,
    by: Metric,
    plan: WalkForwardPlan,
    *,
    jobs: int = 1,
    progress: bool = True,
    report_root: Path | None = None,
) -> WalkForward:
    """Choose in-sample and trade out-of-sample, window by window (see the module doc)."""
    times = [ts for ts, _ in ticks]
    cut = windows(trading_days(times), plan)
    n = len(grid.points)
    tasks = [
        _task(w.number * n + p.index, p, *_bounds(times, w.in_days))
        for w in cut
        for p in grid.points
    ]
    in_rows = [o.row for o in run_tasks(ticks, spec, tasks, jobs=jobs, progress=progress,
                                        desc="in-sample")]  # fmt: skip
    ranked = [rank(in_rows[i * n : (i + 1) * n], by) for i in range(len(cut))]
    chosen = [grid.points[r[0].index - w.number * n] for w, r in zip(cut, ranked, strict=True)]
    out_tasks = [
        _task(w.number, p, *_bounds(times, w.out_days), keep=True,
              report_dir=report_root / f"window-{w.number}" if report_root else None)
        for w, p in zip(cut, chosen, strict=True)
    ]  # fmt: skip
    outs = run_tasks(ticks, spec, out_tasks, jobs=jobs, progress=progress, desc="out-of-sample")
    results = [o.result for o in outs if o.result is not None]
    aggregate = chain_results(results, spec.capital)
    if report_root is not None:
        from ops.backtest.report import write_report  # matplotlib: only when asked

        write_report(aggregate, report_root / "out-of-sample")
    total = summarise(aggregate).total
    return WalkForward(
        windows=[
            WindowOutcome(window=w, in_sample=r, out_of_sample=o.row, result=res)
            for w, r, o, res in zip(cut, ranked, outs, results, strict=True)
        ],
        aggregate=SweepRow(index=0, point="aggregate", params={}, figures=total),
        aggregate_result=aggregate,
    )


def _task(
    index: int,
    point: GridPoint,
    start: int,
    stop: int,
    *,
    keep: bool = False,
    report_dir: Path | None = None,
) -> RunTask:
    return RunTask(
        index=index, label=point.label, params=point.params, strategies=point.strategies,
        start=start, stop=stop, report_dir=report_dir, keep_result=keep,
    )  # fmt: skip
