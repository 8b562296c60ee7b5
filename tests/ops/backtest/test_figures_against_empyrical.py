"""Sharpe, Sortino, annual return, volatility and maximum drawdown agree with empyrical on
300 seeded random trading days (empyrical is fed the daily close-to-close returns)."""

from __future__ import annotations

import empyrical
import numpy as np
import numpy.typing as npt
import pytest

from ops.backtest.ist import ist_date
from ops.backtest.metrics import daily_closes, daily_risk_free
from ops.backtest.results import TOTAL, EquityPoint
from ops.backtest.summary import summarise
from tests.ops.backtest.sample import random_result


def closes_and_returns(
    curve: list[EquityPoint],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Daily closes (after the opening level) and their returns, in floats."""
    opening = float(sorted(curve, key=lambda p: p.ts_ns)[0].equity)
    levels = np.array([opening] + [float(e) for _, e in daily_closes(curve)])
    return levels[1:], levels[1:] / levels[:-1] - 1


@pytest.mark.parametrize("rf", [0.0, 0.065])
def test_sharpe_sortino_annual_return_and_volatility_match_empyrical(rf: float) -> None:
    result = random_result(n_days=300, seed=11, risk_free_rate=rf)
    for fig in summarise(result).rows:
        curve = result.equity[TOTAL if fig.name == TOTAL else fig.name]
        _, returns = closes_and_returns(curve)
        assert len(returns) == fig.curve.trading_days == 300
        daily_rf = daily_risk_free(rf)
        assert fig.curve.sharpe == pytest.approx(
            empyrical.sharpe_ratio(returns, risk_free=daily_rf), rel=1e-9
        )
        assert fig.curve.sortino == pytest.approx(
            empyrical.sortino_ratio(returns, required_return=daily_rf), rel=1e-9
        )
        assert fig.curve.annualised_return == pytest.approx(
            empyrical.annual_return(returns), rel=1e-9
        )
        assert fig.curve.volatility == pytest.approx(
            empyrical.annual_volatility(returns), rel=1e-9)  # fmt: skip


@pytest.mark.parametrize(("seed", "recovers"), [(2, True), (3, False)])
def test_maximum_drawdown_matches_empyrical_and_its_span_follows_the_closes(
    seed: int, recovers: bool
) -> None:
    result = random_result(n_days=300, seed=seed)
    fig = summarise(result).total
    curve = result.equity[TOTAL]
    closes, returns = closes_and_returns(curve)
    dates = [d for d, _ in daily_closes(curve)]
    # intraday points lie between the closes, so the deepest point is a close
    assert fig.curve.max_drawdown == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
    assert fig.curve.max_drawdown is not None and fig.curve.max_drawdown < -0.05
    # the span from the closes: the peak is the last close at the running maximum before
    # the trough, recovery the first close after the trough back at that peak
    trough = int(np.argmin(closes / np.maximum.accumulate(closes) - 1))
    top = closes[: trough + 1].max()
    peak = max(i for i in range(trough + 1) if closes[i] == top)
    back = [i for i in range(trough + 1, len(closes)) if closes[i] >= top]
    dd = fig.curve.drawdown
    assert dd is not None
    assert ist_date(dd.peak_ns) == dates[peak] and ist_date(dd.trough_ns) == dates[trough]
    assert bool(back) is recovers
    if recovers:
        assert dd.recovery_ns is not None and ist_date(dd.recovery_ns) == dates[back[0]]
    else:
        assert dd.recovery_ns is None and dd.end_ns == result.end_ns
