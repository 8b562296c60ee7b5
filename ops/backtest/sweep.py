"""Run many backtests across processes: every grid point, or every walk-forward window.

Each run is `run_backtest` on a slice of the same ticks with one point's strategies, the
same seed and configuration, so its figures do not depend on which process ran it or in
what order: the table is the same with `jobs=1` and `jobs=8`. The ticks go to each worker
process once (the pool's initializer); a run names its slice by index.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from actors.strategies.config import StrategyConfig
from ops.backtest.engine import BacktestSpec, run_backtest
from ops.backtest.grid import Grid, GridPoint
from ops.backtest.ranking import Metric, SweepRow, rank
from ops.backtest.results import BacktestResult
from ops.backtest.summary import summarise
from schemas.events import MarketTick

__all__ = ["RunTask", "RunOutcome", "run_tasks", "sweep", "point_spec"]

Ticks = Sequence[tuple[int, MarketTick]]


@dataclass(frozen=True, slots=True)
class RunTask:
    """One backtest: a point's strategies over ticks[start:stop]."""

    index: int
    label: str
    params: dict[str, str]
    strategies: tuple[StrategyConfig, ...]
    start: int
    stop: int
    report_dir: Path | None = None
    keep_result: bool = False


@dataclass(frozen=True, slots=True)
class RunOutcome:
    row: SweepRow
    ticks: int
    result: BacktestResult | None


_shared: tuple[Ticks, BacktestSpec] | None = None


def _share(ticks: Ticks | None, spec: BacktestSpec | None = None) -> None:
    global _shared
    _shared = (ticks, spec) if ticks is not None and spec is not None else None


def point_spec(spec: BacktestSpec, task: RunTask) -> BacktestSpec:
    """The spec of one run: the point's strategies; its values in the report's config."""
    config = {**spec.config, "strategies": ", ".join(s.id for s in task.strategies)}
    if task.params:
        config["grid point"] = task.label
    return dataclasses.replace(spec, strategies=task.strategies, config=config)


def _run(task: RunTask) -> RunOutcome:
    if _shared is None:  # the pool's initializer sets it
        raise RuntimeError("a sweep run started in a process without the sweep's ticks")
    ticks, spec = _shared
    outcome = run_backtest(ticks[task.start : task.stop], point_spec(spec, task))
    if task.report_dir is not None:
        from ops.backtest.report import write_report  # matplotlib: only when asked

        write_report(outcome.result, task.report_dir)
    figures = summarise(outcome.result).total
    row = SweepRow(index=task.index, point=task.label, params=task.params, figures=figures)
    return RunOutcome(row, outcome.ticks, outcome.result if task.keep_result else None)


def _completed(
    ticks: Ticks, spec: BacktestSpec, tasks: Sequence[RunTask], jobs: int
) -> Iterator[RunOutcome]:
    if jobs <= 1 or len(tasks) <= 1:
        _share(ticks, spec)
        try:
            yield from map(_run, tasks)
        finally:
            _share(None)
        return
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(tasks)), initializer=_share, initargs=(ticks, spec)
    ) as pool:
        futures: list[Future[RunOutcome]] = [pool.submit(_run, t) for t in tasks]
        try:
            for done in as_completed(futures):
                yield done.result()
        except BaseException:
            # a failed run (or ^C) ends the sweep: the runs not started yet never start
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def run_tasks(
    ticks: Ticks,
    spec: BacktestSpec,
    tasks: Sequence[RunTask],
    *,
    jobs: int = 1,
    progress: bool = True,
    desc: str = "backtests",
) -> list[RunOutcome]:
    """Run every task (in `jobs` processes) and return the outcomes in task order."""
    outcomes: dict[int, RunOutcome] = {}
    bar = tqdm(total=len(tasks), desc=desc, unit="run", file=sys.stderr, disable=not progress)
    with bar:
        for outcome in _completed(ticks, spec, tasks, jobs):
            outcomes[outcome.row.index] = outcome
            bar.update()
    return [outcomes[t.index] for t in tasks]


def sweep(
    ticks: Ticks,
    spec: BacktestSpec,
    grid: Grid,
    by: Metric,
    *,
    jobs: int = 1,
    progress: bool = True,
    report_root: Path | None = None,
) -> list[SweepRow]:
    """Every grid point over all of `ticks`, ranked by `by`."""
    tasks = [_task(p, 0, len(ticks), report_root) for p in grid.points]
    outcomes = run_tasks(ticks, spec, tasks, jobs=jobs, progress=progress, desc="grid")
    return rank([o.row for o in outcomes], by)


def _task(point: GridPoint, start: int, stop: int, report_root: Path | None) -> RunTask:
    return RunTask(
        index=point.index, label=point.label, params=point.params,
        strategies=point.strategies, start=start, stop=stop,
        report_dir=report_root / point.slug if report_root is not None else None,
    )  # fmt: skip
