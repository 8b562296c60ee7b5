"""`alpha-panda backtest --grid ... | --walk-forward ...`: many backtests, one table.

    alpha-panda backtest --data FILE --grid fast_window=5,10 --grid slow_window=20,40
                         [--sort sharpe] [--jobs N] [--top 10] [--reports] [--out DIR]
    alpha-panda backtest --data FILE [--grid ...] --walk-forward in=5,out=2

A sweep writes results.csv and results.json to --out; a walk-forward writes
walk_forward.csv and walk_forward.json. `--reports` adds each run's full report
(grid/<point>/, or walk-forward/window-<n>/ and walk-forward/out-of-sample/).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ops.backtest.engine import BacktestSpec
from ops.backtest.errors import SweepError
from ops.backtest.grid import build_grid, parse_grid
from ops.backtest.ranking import METRICS, metric, order_text, table_text, write_results
from ops.backtest.sweep import Ticks, sweep
from ops.backtest.walkforward import parse_walk_forward, walk_forward
from ops.backtest.walkforward_table import walk_forward_text, write_walk_forward

__all__ = ["add_sweep_arguments", "wants_sweep", "run_sweep"]


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sweeps and walk-forward (docs/backtesting.md)")
    g.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2",
        help="run every combination: PARAM=... for every strategy with it, "
        "STRATEGY.PARAM=... for one (repeatable)",
    )  # fmt: skip
    g.add_argument(
        "--sort", default="sharpe", metavar="METRIC",
        help=f"rank by {', '.join(METRICS)} (default sharpe; drawdown: shallowest first)",
    )  # fmt: skip
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes to run in (default: one per core)")  # fmt: skip
    g.add_argument("--top", type=int, default=10, help="rows of the table to print")
    g.add_argument(
        "--walk-forward", metavar="N|in=K,out=M",
        help="N windows, or K in-sample and M out-of-sample trading days per window",
    )  # fmt: skip
    g.add_argument("--reports", action="store_true", help="also write each run's report")


def wants_sweep(args: argparse.Namespace) -> bool:
    return bool(args.grid) or args.walk_forward is not None


def run_sweep(args: argparse.Namespace, ticks: Ticks, spec: BacktestSpec) -> int:
    """The sweep or walk-forward the arguments ask for; prints the table."""
    by = metric(args.sort)
    if args.jobs < 1:
        raise SweepError(f"--jobs {args.jobs}: give 1 or more processes")
    if args.top < 1:
        raise SweepError(f"--top {args.top}: give 1 or more rows")
    plan = parse_walk_forward(args.walk_forward) if args.walk_forward is not None else None
    axes = parse_grid(args.grid)
    grid = build_grid(axes, spec.strategies)
    for label, why in grid.skipped:
        print(f"skipped {label}: {why}")
    out: Path = args.out
    keys = [a.key for a in axes]
    if plan is None:
        root = out / "grid" if args.reports else None
        rows = sweep(ticks, spec, grid, by, jobs=args.jobs, progress=True, report_root=root)
        csv_path, _ = write_results(rows, out, by, keys=keys, skipped=grid.skipped,
                                    extra={"config": dict(spec.config)})  # fmt: skip
        print(f"{len(rows)} grid points on {len(ticks)} ticks, ranked by {order_text(by)}:")
        print(table_text(rows, top=args.top), end="")
        undefined = sum(1 for r in rows if by.value(r.figures) is None)
        if rows and undefined == len(rows):
            print(f"note: {by.name} is n/a for every point (too few trading days or no "
                  "spread), so this order is only the grid's; rank by another figure, "
                  "e.g. --sort net_pnl")  # fmt: skip
        elif undefined:
            print(f"note: {by.name} is n/a for {undefined} of {len(rows)} points; "
                  "they are ranked last")  # fmt: skip
        print(f"table in {csv_path} and results.json" + (f"; reports in {root}/" if root else ""))
        return 0
    root = out / "walk-forward" if args.reports else None
    wf = walk_forward(ticks, spec, grid, by, plan, jobs=args.jobs, progress=True,
                      report_root=root)  # fmt: skip
    print(walk_forward_text(wf, by, grid), end="")
    path = write_walk_forward(wf, out, by, keys=keys)
    print(f"tables in {path} and walk_forward.json" + (f"; reports in {root}/" if root else ""))
    return 0
