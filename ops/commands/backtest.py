"""`alpha-panda backtest`: the live desks on recorded ticks, in simulated time, with a report.

    alpha-panda backtest --data ticks.csv|candles.csv|DIR|sample [--from DAY] [--to DAY]
                         [--strategies IDS|FILE] [--capital RUPEES] [--seed N] [--out DIR]

Strategies, risk limits and the paper fill model come from the same configuration as
`alpha-panda up` (strategies.yaml or ALPHA_PANDA_STRATEGIES, ALPHA_PANDA_RISK_LIMITS,
ALPHA_PANDA_PAPER). The same data, configuration and seed give the same report, byte for byte.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ops.backtest.data import load_market_data
from ops.backtest.engine import BacktestSpec, run_backtest
from ops.backtest.inputs import BacktestInputError, parse_bound, select_strategies
from ops.commands.backtest_sweep import add_sweep_arguments, run_sweep, wants_sweep
from ops.commands.common import run_async
from ops.config_loading import load_domain_config
from ops.settings import load_settings

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backtest", help="run strategies on recorded ticks, with a report")
    p.add_argument(
        "--data",
        required=True,
        help="`sample` (the shipped sample), ticks (replay CSV or Parquet), Kite one-minute "
        "candles, or a directory of them (docs/backtesting.md)",
    )
    p.add_argument("--from", dest="start", help="first IST day (2024-11-25) or ISO time")
    p.add_argument("--to", dest="end", help="last IST day (inclusive) or ISO time")
    p.add_argument("--strategies", help="strategy ids of the configuration (a,b) or a file")
    p.add_argument(
        "--capital", help="starting capital in rupees (default ALPHA_PANDA_STARTING_CASH)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the run's ids (0-65535)")
    p.add_argument("--out", type=Path, default=Path("backtest"), help="report directory")
    add_sweep_arguments(p)
    p.set_defaults(func=run)


def _capital(text: str | None, default: Decimal) -> Decimal:
    if text is None:
        return default
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0:
        raise BacktestInputError(
            f"--capital {text!r}: give a positive amount in rupees, e.g. 1000000"
        )
    return value


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    config = run_async(load_domain_config(settings))
    if not 0 <= args.seed < 1 << 16:
        raise BacktestInputError(f"--seed {args.seed}: use a number from 0 to 65535")
    start = parse_bound(args.start, "--from") if args.start else None
    end = parse_bound(args.end, "--to", end=True) if args.end else None
    strategies = select_strategies(args.strategies, config.strategies, config.book)
    if not strategies:
        raise BacktestInputError(
            "no strategies to run: enable one in the configuration or pass --strategies"
        )
    data = load_market_data(args.data, from_ns=start, to_ns=end, book=config.book)
    ticks = [(tick.exchange_timestamp_ns or 0, tick) for tick in data.ticks]
    spec = BacktestSpec(
        strategies=tuple(strategies), book=config.book, risk_limits=config.risk_limits,
        paper=config.paper, capital=_capital(args.capital, settings.starting_cash),
        seed=args.seed, findings=tuple(data.findings),
        config={"data": str(args.data), "strategies": ", ".join(s.id for s in strategies),
                "seed": str(args.seed), "ticks": str(len(ticks)),
                "strategies_source": args.strategies or config.strategies_source},
    )  # fmt: skip
    if wants_sweep(args):
        return run_sweep(args, ticks, spec)
    # the report draws with matplotlib: imported here, so no other command pays for it
    from ops.backtest.report import console_table, write_report

    began = time.perf_counter()
    outcome = run_backtest(ticks, spec)
    elapsed = time.perf_counter() - began
    files = write_report(outcome.result, args.out)
    print(console_table(files.summary), end="")
    rate = outcome.ticks / elapsed if elapsed > 0 else 0.0
    print(f"{outcome.ticks} ticks in {elapsed:.2f} s ({rate:,.0f} ticks/s); "
          f"{len(outcome.result.fills)} fills; report in {files.out_dir}/ "
          f"(report.html, report.json, trades.csv)")  # fmt: skip
    return 0
