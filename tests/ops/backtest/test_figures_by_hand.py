"""Every figure of a five-day, six-fill run, against arithmetic written out by hand."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest

from ops.backtest.ist import DAY_NS
from ops.backtest.metrics import daily_closes, daily_returns
from ops.backtest.results import TOTAL, BacktestResult, EquityPoint
from ops.backtest.summary import summarise
from schemas.enums import Side
from tests.ops.backtest.sample import fill, ist_ns

D = Decimal
MON, TUE, WED, THU, FRI = (date(2026, 1, d) for d in range(5, 10))  # 5-9 January 2026
START, END = ist_ns(MON, 9, 15), ist_ns(FRI, 15, 30)

# The account opens at 100,000.00 and closes each day 1 % up, 1 % down, 3 % up, 5 % down,
# 3 % up:
#   Mon 100,000 * 1.01 = 101,000        Tue 101,000 * 0.99 = 99,990
#   Wed  99,990 * 1.03 = 102,989.70     Thu 102,989.70 * 0.95 = 97,840.215
#   Fri 97,840.215 * 1.03 = 100,775.42145
# On Thursday at 09:30 it dips to 96,000 (intraday; Thursday's close is still 97,840.215).
TOTAL_CURVE = [
    EquityPoint(ts_ns=START, equity=D("100000")),
    EquityPoint(ts_ns=ist_ns(MON, 15, 30), equity=D("101000")),
    EquityPoint(ts_ns=ist_ns(TUE, 15, 30), equity=D("99990")),
    EquityPoint(ts_ns=ist_ns(WED, 15, 30), equity=D("102989.70")),
    EquityPoint(ts_ns=ist_ns(THU, 9, 30), equity=D("96000")),
    EquityPoint(ts_ns=ist_ns(THU, 15, 30), equity=D("97840.215")),
    EquityPoint(ts_ns=END, equity=D("100775.42145")),
]
FILLS = [
    # alpha, RELIANCE: a long round trip on Monday, a short one from Tuesday to Wednesday
    fill(ist_ns(MON, 10), "alpha", 738561, "RELIANCE", Side.BUY, 10, "2500", "1.50", "0", 1),
    fill(ist_ns(MON, 14), "alpha", 738561, "RELIANCE", Side.SELL, 10, "2600", "1.60", "1000", 2),
    fill(ist_ns(TUE, 10), "alpha", 738561, "RELIANCE", Side.SELL, 5, "2600", "1.00", "0", 3),
    fill(ist_ns(WED, 11), "alpha", 738561, "RELIANCE", Side.BUY, 5, "2700", "1.10", "-500", 4),
    # beta, INFY: long from Thursday 10:00 to Friday 15:00
    fill(ist_ns(THU, 10), "beta", 408065, "INFY", Side.BUY, 20, "1500", "2.00", "0", 5),
    fill(ist_ns(FRI, 15), "beta", 408065, "INFY", Side.SELL, 20, "1530", "2.20", "600", 6),
]
RESULT = BacktestResult(
    capital=D("100000"), start_ns=START, end_ns=END,
    equity={
        TOTAL: TOTAL_CURVE,
        "alpha": [EquityPoint(ts_ns=START, equity=D("50000")),
                  EquityPoint(ts_ns=END, equity=D("50495.80"))],
        "beta": [EquityPoint(ts_ns=START, equity=D("50000")),
                 EquityPoint(ts_ns=END, equity=D("50279.62145"))],
    },
    fills=FILLS,
)  # fmt: skip
HOURS = 3600 * 10**9
SPAN_HOURS = 4 * 24 + 6.25  # Mon 09:15 to Fri 15:30


def test_each_trading_day_closes_at_its_last_point_and_returns_are_close_over_close() -> None:
    assert [d for d, _ in daily_closes(TOTAL_CURVE)] == [MON, TUE, WED, THU, FRI]
    assert daily_closes(TOTAL_CURVE)[3] == (THU, D("97840.215"))  # not the 09:30 dip
    assert daily_returns(TOTAL_CURVE) == pytest.approx([0.01, -0.01, 0.03, -0.05, 0.03], abs=1e-15)


def test_the_curve_figures_of_the_account() -> None:
    c = summarise(RESULT).total.curve
    assert c.start_equity == D("100000") and c.end_equity == D("100775.42145")
    assert c.net_pnl == D("775.42145")
    assert c.trading_days == 5
    # 100,775.42145 / 100,000 - 1
    assert c.total_return == pytest.approx(0.0077542145, abs=1e-15)
    # five trading days of 252 a year: 1.0077542145 ^ (252 / 5) - 1 = 1.0077542145 ^ 50.4 - 1
    assert c.annualised_return == pytest.approx(1.0077542145**50.4 - 1, rel=1e-12)
    assert c.annualised_return == pytest.approx(0.4760, abs=1e-4)
    # mean = (0.01 - 0.01 + 0.03 - 0.05 + 0.03) / 5 = 0.002
    # deviations 0.008, -0.012, 0.028, -0.052, 0.028; squares sum to
    #   0.000064 + 0.000144 + 0.000784 + 0.002704 + 0.000784 = 0.00448
    # sample variance 0.00448 / 4 = 0.00112
    # Sharpe = 0.002 / sqrt(0.00112) * sqrt(252) = sqrt(0.002² * 252 / 0.00112) = sqrt(0.9)
    assert c.sharpe == pytest.approx(math.sqrt(0.9), rel=1e-12)
    # volatility = sqrt(0.00112 * 252) = sqrt(0.28224)
    assert c.volatility == pytest.approx(math.sqrt(0.28224), rel=1e-12)
    # downside: min(r, 0)² = 0, 0.0001, 0, 0.0025, 0; mean over all 5 days = 0.00052
    # Sortino = 0.002 / sqrt(0.00052) * sqrt(252) = sqrt(0.002² * 252 / 0.00052)
    assert c.sortino == pytest.approx(math.sqrt(0.000004 * 252 / 0.00052), rel=1e-12)
    assert c.sortino == pytest.approx(1.3923, abs=1e-4)


def test_the_deepest_drawdown_counts_the_intraday_dip_and_runs_to_the_end_unrecovered() -> None:
    c = summarise(RESULT).total.curve
    # peak Wednesday's close 102,989.70; trough Thursday 09:30 at 96,000:
    #   96,000 / 102,989.70 - 1 = -0.0678679...
    assert c.max_drawdown == pytest.approx(float(D(96000) / D("102989.70") - 1), abs=1e-15)
    assert c.max_drawdown == pytest.approx(-0.06786795, abs=1e-8)
    dd = c.drawdown
    assert dd is not None
    assert dd.peak_ns == ist_ns(WED, 15, 30) and dd.trough_ns == ist_ns(THU, 9, 30)
    # Friday's 100,775.42 is still under the peak: not recovered, the span runs to the end
    assert dd.recovery_ns is None and dd.end_ns == END
    # Wednesday 15:30 to Friday 15:30 = 2 days
    assert dd.duration_days == 2.0


def test_a_drawdown_that_recovers_ends_at_the_first_point_back_at_the_peak() -> None:
    back = [*TOTAL_CURVE, EquityPoint(ts_ns=END + DAY_NS, equity=D("102989.70")),
            EquityPoint(ts_ns=END + 2 * DAY_NS, equity=D("103500"))]  # fmt: skip
    result = BacktestResult(capital=D(100000), start_ns=START, end_ns=END + 2 * DAY_NS,
                            equity={TOTAL: back})  # fmt: skip
    dd = summarise(result).total.curve.drawdown
    assert dd is not None and dd.recovery_ns == END + DAY_NS == dd.end_ns
    assert dd.duration_days == 3.0  # Wednesday 15:30 to Saturday 15:30


def test_the_trade_figures_of_the_account() -> None:
    t = summarise(RESULT).total.trades
    # closing fills: +1,000 (alpha), -500 (alpha), +600 (beta); three opening fills at 0
    assert (t.fills, t.trades, t.wins, t.losses) == (6, 3, 2, 1)
    assert t.win_rate == pytest.approx(2 / 3)
    assert t.gross_profit == D("1600") and t.gross_loss == D("-500")
    assert t.profit_factor == pytest.approx(3.2)  # 1,600 / 500
    assert t.average_win == D("800") and t.average_loss == D("-500")
    assert t.realized_pnl == D("1100")
    # 1.50 + 1.60 + 1.00 + 1.10 + 2.00 + 2.20
    assert t.charges == D("9.40")
    # 10*2500 + 10*2600 + 5*2600 + 5*2700 + 20*1500 + 20*1530
    #   = 25,000 + 26,000 + 13,000 + 13,500 + 30,000 + 30,600
    assert t.turnover == D("138100")


def test_the_trade_figures_of_each_strategy() -> None:
    alpha, beta = summarise(RESULT).strategies
    assert (alpha.name, beta.name) == ("alpha", "beta")
    a, b = alpha.trades, beta.trades
    assert (a.trades, a.wins, a.losses, a.win_rate) == (2, 1, 1, 0.5)
    assert a.profit_factor == pytest.approx(2.0)  # 1,000 / 500
    assert a.charges == D("5.20") and a.turnover == D("77500")
    # beta has a win and no loss: no profit factor, no average loss
    assert (b.trades, b.wins, b.win_rate, b.profit_factor, b.average_loss) == (
        1,
        1,
        1.0,
        None,
        None,
    )
    assert b.average_win == D("600") and b.charges == D("4.20") and b.turnover == D("60600")
    assert alpha.curve.net_pnl == D("495.80") and beta.curve.net_pnl == D("279.62145")


def test_exposure_is_the_time_with_an_open_position_over_the_run() -> None:
    s = summarise(RESULT)
    alpha, beta = s.strategies
    # alpha: Monday 10:00-14:00 (4 h) and Tuesday 10:00 to Wednesday 11:00 (25 h)
    assert alpha.exposure == pytest.approx(29 / SPAN_HOURS)
    # beta: Thursday 10:00 to Friday 15:00 (29 h)
    assert beta.exposure == pytest.approx(29 / SPAN_HOURS)
    # the account: either open, never both at once: 58 h
    assert s.total.exposure == pytest.approx(58 / SPAN_HOURS)


def test_the_risk_free_rate_is_taken_off_each_day_at_its_daily_equivalent() -> None:
    rf = 0.065
    daily = (1 + rf) ** (1 / 252) - 1
    result = BacktestResult(capital=D(100000), start_ns=START, end_ns=END,
                            equity={TOTAL: TOTAL_CURVE}, risk_free_rate=rf)  # fmt: skip
    c = summarise(result).total.curve
    excess = [r - daily for r in (0.01, -0.01, 0.03, -0.05, 0.03)]
    mean = sum(excess) / 5
    sd = math.sqrt(sum((x - mean) ** 2 for x in excess) / 4)
    assert c.sharpe == pytest.approx(mean / sd * math.sqrt(252), rel=1e-9)
    downside = math.sqrt(sum(min(x, 0) ** 2 for x in excess) / 5)
    assert c.sortino == pytest.approx(mean / downside * math.sqrt(252), rel=1e-9)
