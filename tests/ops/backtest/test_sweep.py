"""Sweeps and walk-forward: grids, ranking, processes, windows and the chosen parameters."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors.feed.replay import read_ticks_csv
from actors.instruments import InstrumentBook
from actors.paper.matching import PaperConfig
from actors.risk.limits import RiskLimits
from actors.strategies.config import parse_strategies
from ops.backtest.engine import BacktestSpec, run_backtest
from ops.backtest.errors import SweepError
from ops.backtest.grid import Grid, build_grid, parse_grid
from ops.backtest.ist import ist_date
from ops.backtest.ranking import METRICS, metric, rank, row_scalars
from ops.backtest.results import TOTAL
from ops.backtest.summary import summarise
from ops.backtest.sweep import sweep
from ops.backtest.walkforward import (
    WalkForwardPlan,
    parse_walk_forward,
    trading_days,
    walk_forward,
    windows,
)
from ops.backtest.walkforward_table import walk_forward_text
from ops.cli import main
from schemas.events import MarketTick
from tests.ops.backtest.sample import ist_ns

BOOK = InstrumentBook.default()
SAMPLE = Path(__file__).resolve().parents[3] / "actors" / "data" / "sample_ticks.csv"
MOMENTUM: dict[str, Any] = {
    "id": "mom", "type": "momentum", "instruments": ["RELIANCE", "INFY", "TCS"],
    "params": {"fast_window": 3, "slow_window": 8, "lots": 5, "allow_short": True},
}  # fmt: skip
MEANREV: dict[str, Any] = {
    "id": "rev", "type": "mean_reversion", "instruments": ["INFY"],
    "params": {"window": 10, "entry_z": 1.5, "exit_z": 0.3, "lots": 5},
}  # fmt: skip


def spec(*entries: dict[str, Any]) -> BacktestSpec:
    return BacktestSpec(
        strategies=tuple(parse_strategies(list(entries or [MOMENTUM]), BOOK)), book=BOOK,
        risk_limits=RiskLimits(), paper=PaperConfig(), capital=Decimal(1_000_000), seed=3,
    )  # fmt: skip


def grid_of(*options: str, entries: tuple[dict[str, Any], ...] = (MOMENTUM,)) -> Grid:
    return build_grid(parse_grid(options), spec(*entries).strategies)


def weekdays(start: date, n: int) -> list[date]:
    days: list[date] = []
    d = start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def session_ticks(n_days: int, per_day: int = 240, seed: int = 11) -> list[tuple[int, MarketTick]]:
    """A seeded random walk of INFY and TCS, a tick every 10 s of each session."""
    rng = random.Random(seed)
    price = {408065: Decimal(1500), 2953217: Decimal(3100)}
    symbol = {408065: "INFY", 2953217: "TCS"}
    out = []
    for day in weekdays(date(2024, 1, 1), n_days):
        open_ns = ist_ns(day, 9, 15)
        for n in range(per_day):
            token = (408065, 2953217)[n % 2]
            price[token] += Decimal(rng.choice((-3, -2, -1, 0, 1, 2, 3))) * Decimal("0.05") * 20
            ts = open_ns + n * 10 * 10**9
            out.append((ts, MarketTick(instrument_token=token, last_price=price[token],
                                       symbol=symbol[token], exchange_timestamp_ns=ts)))  # fmt: skip
    return out


# --- the grid -------------------------------------------------------------------------


def test_a_grid_is_every_combination_first_key_slowest() -> None:
    grid = grid_of("fast_window=3,4", "slow_window=8,12")
    assert [p.label for p in grid.points] == [
        "fast_window=3,slow_window=8", "fast_window=3,slow_window=12",
        "fast_window=4,slow_window=8", "fast_window=4,slow_window=12",
    ]  # fmt: skip
    last = grid.points[-1].strategies[0].params
    assert (last.fast_window, last.slow_window, last.lots) == (4, 12, 5)  # type: ignore[attr-defined]
    assert grid.points[0].slug == "fast_window=3,slow_window=8"


def test_a_strategy_qualified_key_sets_that_strategy_only() -> None:
    other = {**MOMENTUM, "id": "mom2"}
    grid = grid_of("mom2.fast_window=5", entries=(MOMENTUM, other))
    [point] = grid.points
    mom, mom2 = point.strategies
    assert mom.params.fast_window == 3  # type: ignore[attr-defined]
    assert mom2.params.fast_window == 5  # type: ignore[attr-defined]
    assert point.label == "mom2.fast_window=5"


def test_a_plain_key_sets_every_strategy_that_has_the_param() -> None:
    [point] = grid_of("lots=7", entries=(MOMENTUM, MEANREV)).points
    assert [s.params.lots for s in point.strategies] == [7, 7]
    [point] = grid_of("window=12", entries=(MOMENTUM, MEANREV)).points
    assert point.strategies[0].params == spec(MOMENTUM).strategies[0].params
    assert point.strategies[1].params.window == 12  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("fast_window", "write KEY=V1,V2"),
        ("=1,2", "write KEY=V1,V2"),
        ("fast_window=1,,2", "an empty value"),
        ("fast_window=3,3", "listed twice"),
        ("fast window=3", "is not a parameter name"),
        (".fast_window=3", "is not a parameter name"),
    ],
)
def test_grid_syntax_errors_name_the_option_and_the_fix(option: str, message: str) -> None:
    with pytest.raises(SweepError, match=message) as err:
        parse_grid([option])
    assert repr(option) in str(err.value)


def test_a_key_given_twice_is_an_error() -> None:
    with pytest.raises(SweepError, match="given twice"):
        parse_grid(["lots=1", "lots=2"])
    with pytest.raises(SweepError, match="both set lots of mom; give one of them"):
        grid_of("lots=1", "mom.lots=2")


def test_an_unknown_param_names_the_valid_params() -> None:
    with pytest.raises(SweepError) as err:
        grid_of("fast=5,10", entries=(MOMENTUM, MEANREV))
    text = str(err.value)
    assert "no selected strategy has a parameter 'fast'" in text
    assert "mom (momentum): lots, allow_short, order_type, limit_offset_ticks, fast_window" in text
    assert "rev (mean_reversion):" in text and "entry_z" in text
    with pytest.raises(SweepError, match="rev .mean_reversion. has no parameter 'fast_window'; "
                       "its parameters are lots, .*window, entry_z, exit_z"):  # fmt: skip
        grid_of("rev.fast_window=5", entries=(MOMENTUM, MEANREV))
    with pytest.raises(SweepError, match="no selected strategy 'nope'; the selected strategies "
                       "are mom, rev"):  # fmt: skip
        grid_of("nope.lots=1", entries=(MOMENTUM, MEANREV))


def test_a_value_no_strategy_can_take_is_an_error_before_any_run() -> None:
    with pytest.raises(SweepError, match=r"fast_window=abc: .*fast_window of mom: Expected int, "
                       "got str; change the values"):  # fmt: skip
        grid_of("fast_window=3,abc")
    with pytest.raises(SweepError, match=r"lots=0: .*lots of mom: must be at least 1"):
        grid_of("lots=0,1")


def test_a_combination_invalid_only_together_is_skipped_and_listed() -> None:
    grid = grid_of("fast_window=3,10", "slow_window=8,20")
    assert [p.label for p in grid.points] == [
        "fast_window=3,slow_window=8", "fast_window=3,slow_window=20",
        "fast_window=10,slow_window=20",
    ]  # fmt: skip
    [(label, why)] = grid.skipped
    assert label == "fast_window=10,slow_window=8"
    assert "slow_window of mom: must be greater than fast_window (10)" in why
    with pytest.raises(SweepError, match="no combination with it is valid"):
        grid_of("fast_window=10", "slow_window=8")


def test_a_grid_too_big_to_run_is_an_error() -> None:
    values = ",".join(str(n) for n in range(1, 101))
    with pytest.raises(SweepError, match="10,100 combinations is more than 10,000"):
        grid_of(f"lots={values}", f"slow_window={values},200")


# --- ranking --------------------------------------------------------------------------


def test_an_unknown_sort_metric_lists_the_metrics() -> None:
    with pytest.raises(SweepError, match="--sort 'calmar' is not a metric; use one of sharpe"):
        metric("calmar")


def test_a_2x2_grid_on_the_sample_gives_4_rows_the_same_in_1_or_2_processes() -> None:
    ticks = list(read_ticks_csv(SAMPLE))
    grid = grid_of("fast_window=3,4", "slow_window=8,12")
    by = metric("net_pnl")
    one = sweep(ticks, spec(), grid, by, jobs=1, progress=False)
    two = sweep(ticks, spec(), grid, by, jobs=2, progress=False)
    assert len(one) == 4
    assert [(r.point, row_scalars(r)) for r in one] == [(r.point, row_scalars(r)) for r in two]
    pnl = [r.figures.curve.net_pnl for r in one]
    assert all(p is not None for p in pnl)
    assert pnl == sorted(pnl, reverse=True)  # type: ignore[type-var]
    assert len(set(pnl)) > 1  # the parameters matter on this data, so the order is tested
    # each row is the figures of a plain run of its point
    best = next(p for p in grid.points if p.label == one[0].point)
    alone = run_backtest(ticks, dataclasses.replace(spec(), strategies=best.strategies))
    assert summarise(alone.result).total.curve == one[0].figures.curve


def test_ranking_goes_the_right_way_for_each_metric_with_undefined_last() -> None:
    ticks = session_ticks(3)
    rows = sweep(ticks, spec(), grid_of("fast_window=2,3,5", "slow_window=6,9"),
                 metric("sharpe"), progress=False)  # fmt: skip
    for name, m in METRICS.items():
        ranked = rank(rows, m)
        values = [m.value(r.figures) for r in ranked]
        defined = [float(v) for v in values if v is not None]
        assert values[: len(defined)] == [v for v in values if v is not None], name
        assert defined == sorted(defined, reverse=m.best == "high"), name
    drawdowns = [r.figures.curve.max_drawdown for r in rank(rows, metric("max_drawdown"))]
    assert drawdowns[0] is not None and drawdowns[-1] is not None
    assert drawdowns[0] >= drawdowns[-1]  # 0 ≥ -0.01: the shallowest (nearest 0) first
    assert len(set(drawdowns)) > 1
    # ties keep the grid's order
    tied = rank(rows, dataclasses.replace(metric("sharpe"), value=lambda f: 1.0))
    assert [r.index for r in tied] == sorted(r.index for r in rows)


# --- walk-forward ---------------------------------------------------------------------


D = [date(2024, 1, d) for d in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12)]  # ten trading days


def spans(plan: WalkForwardPlan) -> list[tuple[list[int], list[int]]]:
    index = {d: n for n, d in enumerate(D, start=1)}
    return [([index[d] for d in w.in_days], [index[d] for d in w.out_days])
            for w in windows(D, plan)]  # fmt: skip


def test_walk_forward_windows_by_hand() -> None:
    assert spans(parse_walk_forward("3")) == [  # M = 10 // 4 = 2, K = 10 - 3·2 = 4
        ([1, 2, 3, 4], [5, 6]), ([3, 4, 5, 6], [7, 8]), ([5, 6, 7, 8], [9, 10]),
    ]  # fmt: skip
    assert spans(parse_walk_forward("in=3,out=2")) == [
        ([1, 2, 3], [4, 5]), ([3, 4, 5], [6, 7]), ([5, 6, 7], [8, 9]), ([7, 8, 9], [10]),
    ]  # fmt: skip
    assert spans(parse_walk_forward("out=5, in=5")) == [([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])]
    assert spans(parse_walk_forward("1")) == [([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])]
    assert spans(parse_walk_forward("9")) == [([n], [n + 1]) for n in range(1, 10)]


def test_walk_forward_errors_name_the_fix() -> None:
    for text in ("0", "in=3", "in=3,out=2,step=1", "in=a,out=2", "three"):
        with pytest.raises(SweepError, match="--walk-forward"):
            parse_walk_forward(text)
    with pytest.raises(SweepError, match="in and out are at least 1"):
        parse_walk_forward("in=0,out=2")
    with pytest.raises(SweepError, match="needs at least 11 trading days.*the data has 10"):
        windows(D, parse_walk_forward("10"))
    with pytest.raises(SweepError, match=r"needs at least 11 trading days; the data has 10 "
                       r"\(2024-01-01 to 2024-01-12\)"):  # fmt: skip
        windows(D, parse_walk_forward("in=10,out=1"))


def test_trading_days_are_the_ist_dates_with_ticks() -> None:
    ticks = session_ticks(4, per_day=3)
    # 23:59 IST is still the same trading day; 00:00 IST the next one
    late = ist_ns(date(2024, 1, 4), 23, 59)
    times = sorted([ts for ts, _ in ticks] + [late])
    assert trading_days(times) == weekdays(date(2024, 1, 1), 4)
    assert ist_date(late) == date(2024, 1, 4)


def test_the_out_of_sample_run_uses_exactly_the_chosen_in_sample_parameters() -> None:
    ticks = session_ticks(6)
    grid = grid_of("fast_window=2,4", "slow_window=6,12")
    by = metric("total_return")
    wf = walk_forward(ticks, spec(), grid, by, parse_walk_forward("in=2,out=2"), jobs=2,
                      progress=False)  # fmt: skip
    assert len(wf.windows) == 2
    points = {p.label: p for p in grid.points}
    chosen_labels = set()
    for w in wf.windows:
        days = set(w.window.in_days)
        in_ticks = [t for t in ticks if ist_date(t[0]) in days]
        # the in-sample table: every point on the in-sample days, the chosen one the best
        expected = rank(sweep(in_ticks, spec(), grid, by, progress=False), by)
        assert [(r.point, row_scalars(r)) for r in w.in_sample] == [
            (r.point, row_scalars(r)) for r in expected
        ]
        chosen = points[w.chosen.point]
        chosen_labels.add(chosen.label)
        # the out-of-sample run is that point, alone, on the out-of-sample days
        out_days = set(w.window.out_days)
        out_ticks = [t for t in ticks if ist_date(t[0]) in out_days]
        alone = run_backtest(out_ticks, dataclasses.replace(spec(), strategies=chosen.strategies))
        assert w.result.fills == alone.result.fills
        assert w.result.equity == alone.result.equity
        assert w.result.config["grid point"] == chosen.label
        assert w.out_of_sample.point == chosen.label
        assert w.out_of_sample.figures == summarise(alone.result).total
    # the aggregate adds the windows' PnL onto the capital
    nets = [w.out_of_sample.figures.curve.net_pnl for w in wf.windows]
    assert wf.aggregate.figures.curve.end_equity == Decimal(1_000_000) + sum(nets)  # type: ignore[arg-type]
    assert len(wf.aggregate_result.fills) == sum(len(w.result.fills) for w in wf.windows)
    assert wf.aggregate_result.equity[TOTAL][0].equity == Decimal(1_000_000)


# --- the command ----------------------------------------------------------------------


def write_csv(path: Path, ticks: list[tuple[int, MarketTick]]) -> Path:
    rows = ["ts,instrument_token,symbol,last_price,volume"]
    rows += [f"{ts},{t.instrument_token},{t.symbol},{t.last_price},10" for ts, t in ticks]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def strategies_file(tmp_path: Path) -> Path:
    path = tmp_path / "strategies.yaml"
    path.write_text(
        "- id: mom\n  type: momentum\n  instruments: [INFY, TCS]\n"
        "  params: {fast_window: 3, slow_window: 8, lots: 5, allow_short: true}\n",
        encoding="utf-8",
    )
    return path


def cli(tmp_path: Path, data: Path, out: str, *extra: str) -> int:
    return main(["backtest", "--data", str(data), "--strategies", str(strategies_file(tmp_path)),
                 "--capital", "1000000", "--out", str(tmp_path / out), *extra])  # fmt: skip


def test_the_command_writes_the_same_table_with_one_or_two_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "ticks.csv", session_ticks(3))
    grid = ["--grid", "fast_window=2,3", "--grid", "slow_window=6,9", "--sort", "max_drawdown"]
    assert cli(tmp_path, data, "a", *grid, "--jobs", "1") == 0
    assert cli(tmp_path, data, "b", *grid, "--jobs", "2", "--reports") == 0
    for name in ("results.csv", "results.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    table = json.loads((tmp_path / "a" / "results.json").read_text())
    assert table["sort"] == "max_drawdown" and len(table["rows"]) == 4
    assert [r["rank"] for r in table["rows"]] == [1, 2, 3, 4]
    dd = [r["max_drawdown"] for r in table["rows"]]
    assert dd == sorted(dd, reverse=True)
    lines = (tmp_path / "a" / "results.csv").read_text().splitlines()
    assert lines[0].startswith("rank,point,fast_window,slow_window,")
    assert len(lines) == 5
    point = table["rows"][0]["point"]
    report = json.loads((tmp_path / "b" / "grid" / point / "report.json").read_text())
    assert report["config"]["grid point"] == point
    assert not (tmp_path / "a" / "grid").exists()  # the default is just the table
    captured = capsys.readouterr()
    assert "4 grid points on 720 ticks, ranked by max_drawdown (highest first)" in captured.out
    assert f"1  {point}" in captured.out
    assert "grid: 100%" in captured.err  # the progress bar


def test_the_command_walks_forward_and_writes_both_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "ticks.csv", session_ticks(5))
    assert cli(tmp_path, data, "wf", "--grid", "fast_window=2,3", "--walk-forward", "2",
               "--jobs", "1") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "window 1: in-sample 2024-01-01 to 2024-01-03 (3 days), out-of-sample " in out
    assert "window 2: in-sample 2024-01-02 to 2024-01-04 (3 days)" in out
    assert "aggregate out-of-sample, 2 windows chained" in out
    doc = json.loads((tmp_path / "wf" / "walk_forward.json").read_text())
    assert [w["out_of_sample_days"] for w in doc["windows"]] == [["2024-01-04"], ["2024-01-05"]]
    assert all(len(w["in_sample"]) == 2 for w in doc["windows"])
    assert all(w["chosen"] == w["in_sample"][0]["point"] for w in doc["windows"])
    assert cli(tmp_path, data, "wf2", "--grid", "fast_window=2,3", "--walk-forward", "2",
               "--jobs", "2") == 0  # fmt: skip
    for name in ("walk_forward.csv", "walk_forward.json"):
        assert (tmp_path / "wf" / name).read_bytes() == (tmp_path / "wf2" / name).read_bytes()
    lines = (tmp_path / "wf" / "walk_forward.csv").read_text().splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["1", "in"], ["1", "out"], ["2", "in"], ["2", "out"], ["all", "out"],
    ]  # fmt: skip


def test_bad_sweep_options_are_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in (["--grid", "fast=1,2"], ["--grid", "fast_window=2", "--sort", "calmar"],
                  ["--walk-forward", "5"], ["--grid", "lots=1", "--jobs", "0"]):  # fmt: skip
        assert cli(tmp_path, SAMPLE, "bad", *extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("alpha-panda: --") and "Traceback" not in err, err


def test_without_a_grid_the_configured_parameters_run_in_both_samples() -> None:
    ticks = session_ticks(4)
    grid = build_grid([], spec().strategies)
    wf = walk_forward(ticks, spec(), grid, metric("sharpe"), parse_walk_forward("in=2,out=1"),
                      progress=False)  # fmt: skip
    assert [w.chosen.point for w in wf.windows] == ["(configured)", "(configured)"]
    out_ticks = [t for t in ticks if ist_date(t[0]) == wf.windows[1].window.out_days[0]]
    assert wf.windows[1].result.fills == run_backtest(out_ticks, spec()).result.fills
    assert "grid point" not in wf.windows[1].result.config
    text = walk_forward_text(wf, metric("sharpe"), grid)
    assert "; parameters (configured)\n" in text


def test_a_choice_the_metric_cannot_make_is_said_so() -> None:
    grid = grid_of("fast_window=2,3")
    by = metric("sharpe")  # one in-sample day has no Sharpe ratio
    wf = walk_forward(session_ticks(2), spec(), grid, by, parse_walk_forward("1"), progress=False)
    [window] = wf.windows
    assert window.chosen.point == "fast_window=2"
    assert "no point has a sharpe in-sample: the grid's first is taken" in walk_forward_text(
        wf, by, grid
    )
