"""Runs that give little to measure still report, with "n/a" where a figure is undefined;
a malformed result is refused with a message that names the fix."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ops.backtest.errors import ReportError
from ops.backtest.metrics import annualised_return, curve_figures, daily_returns
from ops.backtest.report import console_table, write_report
from ops.backtest.results import TOTAL, BacktestResult, EquityPoint
from ops.backtest.summary import summarise
from schemas.enums import Side
from tests.ops.backtest.sample import fill, ist_ns, trading_days

D = Decimal
MON = date(2026, 1, 5)
START, END = ist_ns(MON, 9, 15), ist_ns(MON, 15, 30)


def flat(days: int = 5, level: str = "100000") -> list[EquityPoint]:
    return [EquityPoint(ts_ns=START, equity=D(level))] + [
        EquityPoint(ts_ns=ist_ns(d, 15, 30), equity=D(level)) for d in trading_days(MON, days)
    ]


def test_a_run_without_trades_reports_no_ratios_and_writes_every_file(tmp_path: Path) -> None:
    result = BacktestResult(capital=D(100000), start_ns=START, end_ns=ist_ns(date(2026, 1, 9), 15, 30),
                            equity={TOTAL: flat()})  # fmt: skip
    s = summarise(result)
    c, t = s.total.curve, s.total.trades
    assert c.total_return == 0.0 and c.trading_days == 5
    assert c.sharpe is None and c.sortino is None  # flat: zero dispersion, no downside
    assert c.max_drawdown == 0.0 and c.drawdown is None
    assert (t.trades, t.win_rate, t.profit_factor, t.average_win, t.average_loss) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert t.charges == t.turnover == D(0)
    assert s.total.exposure == 0.0 and s.strategies == []
    files = write_report(result, tmp_path / "out")
    for path in (files.json, files.trades_csv, files.equity_png, files.strategies_png, files.html):
        assert path.stat().st_size > 0, path
    html = files.html.read_text()
    assert "No fills: the run placed no trade." in html and "n/a" in html
    assert files.trades_csv.read_text().count("\n") == 1  # the header only
    assert "n/a" in console_table(s)


def test_one_day_of_data_has_one_return_and_no_sharpe() -> None:
    curve = [EquityPoint(ts_ns=START, equity=D(100000)), EquityPoint(ts_ns=END, equity=D(100500))]
    c = curve_figures(curve, END)
    assert c.trading_days == 1 and c.total_return == pytest.approx(0.005)
    assert c.sharpe is None and c.sortino is None and c.volatility is None
    assert c.annualised_return == pytest.approx(1.005**252 - 1)


def test_steady_growth_has_no_sharpe_and_no_sortino_rather_than_float_noise() -> None:
    # 1 % a day exactly: every daily return is the same number, whatever the float rounding
    level, curve = D(100000), [EquityPoint(ts_ns=START, equity=D(100000))]
    for d in trading_days(MON, 30):
        level *= D("1.01")
        curve.append(EquityPoint(ts_ns=ist_ns(d, 15, 30), equity=level))
    c = curve_figures(curve, curve[-1].ts_ns, risk_free_annual=0.065)
    assert c.sharpe is None and c.sortino is None
    assert c.total_return == pytest.approx(1.01**30 - 1)


def test_a_single_point_is_one_flat_day() -> None:
    c = curve_figures([EquityPoint(ts_ns=START, equity=D(100000))], START)
    assert (c.trading_days, c.total_return, c.sharpe, c.max_drawdown) == (1, 0.0, None, 0.0)


def test_an_empty_curve_gives_no_figures() -> None:
    c = curve_figures([], END)
    assert (c.start_equity, c.total_return, c.annualised_return, c.sharpe, c.max_drawdown) == (
        None, None, None, None, None)  # fmt: skip


def test_a_curve_that_is_not_a_level_gives_no_returns() -> None:
    pnl = [EquityPoint(ts_ns=START, equity=D(0)), EquityPoint(ts_ns=END, equity=D(250))]
    assert daily_returns(pnl) is None
    c = curve_figures(pnl, END)
    assert c.total_return is None and c.sharpe is None and c.trading_days == 0
    assert c.net_pnl == D(250)


def test_annualising_a_wipe_out_or_an_overflow_gives_a_number_or_none() -> None:
    assert annualised_return(-1.0, 10) == -1.0
    assert annualised_return(-1.5, 10) == -1.0
    assert annualised_return(1e6, 1) is None
    assert annualised_return(0.1, 0) is None


def test_a_position_open_at_the_end_counts_as_exposed_until_the_end() -> None:
    buy = fill(ist_ns(MON, 12, 22), "s", 1, "X", Side.BUY, 1, "10", "0", "0", 1)  # fmt: skip
    result = BacktestResult(capital=D(1), start_ns=START, end_ns=END,
                            equity={TOTAL: flat(1)}, fills=[buy])  # fmt: skip
    # 12:22 to 15:30 of 09:15 to 15:30: 188 of 375 minutes
    assert summarise(result).total.exposure == pytest.approx(188 / 375)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"equity": {"s": []}}, "no 'total' equity series"),
        ({"end_ns": START - 1}, "ends (end_ns="),
        ({"equity": {TOTAL: [EquityPoint(ts_ns=START, equity=D("NaN"))]}}, "finite amount"),
        ({"fills": [fill(START, "s", 1, "X", Side.BUY, 0, "10", "0", "0", 1)]}, "positive count"),
        ({"fills": [fill(START, "s", 1, "X", Side.BUY, 1, "Infinity", "0", "0", 1)]}, "price="),
        ({"fills": [fill(START, TOTAL, 1, "X", Side.BUY, 1, "10", "0", "0", 1)]}, "rename"),
    ],
)
def test_a_malformed_result_is_refused_with_the_fix(change: dict[str, Any], says: str) -> None:
    fields = {"capital": D(1), "start_ns": START, "end_ns": END, "equity": {TOTAL: flat(1)}}
    with pytest.raises(ReportError, match=says.replace("(", r"\(")):
        summarise(BacktestResult(**{**fields, **change}))


def test_a_report_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    result = BacktestResult(capital=D(1), start_ns=START, end_ns=END, equity={TOTAL: flat(1)})
    with pytest.raises(ReportError, match="pass --out a directory"):
        write_report(result, tmp_path / "taken")
