"""Return and risk figures of an equity curve; pure functions, no I/O.

Conventions (docs/backtesting.md, "Reading the report", says the same for readers):
- A trading day is an IST calendar date with at least one equity point; its close is the
  last point of that date. Daily return = close / previous close - 1; the first day's is
  over the series' opening point (its first point).
- Annualisation uses 252 trading days: annualised return = (1 + total return)^(252 / days)
  - 1 with `days` the number of daily returns; Sharpe, Sortino and volatility scale the
  daily figure by √252.
- The annual risk-free rate becomes a daily one as (1 + rf)^(1/252) - 1 and is taken off
  every daily return before Sharpe and Sortino (as empyrical's `risk_free` /
  `required_return`).
- Sharpe = mean(r - rf) / stdev(r - rf) · √252, sample standard deviation (n - 1).
  Sortino = mean(r - rf) / sqrt(mean(min(r - rf, 0)²)) · √252, the mean over all days.
  Either is None ("n/a") with fewer than two days, or when its denominator is zero (below
  1e-12, float noise): a flat curve has no Sharpe, a curve that never falls no Sortino.
- Maximum drawdown is over every equity point (an intraday trough counts), as a
  fraction of the running peak (≤ 0); its duration runs from the peak to the first point
  back at the peak, or to the end of the run if it never got back.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import msgspec

from ops.backtest.ist import DAY_NS, ist_date
from ops.backtest.results import EquityPoint

__all__ = [
    "TRADING_DAYS",
    "CurveFigures",
    "Drawdown",
    "annualised_return",
    "curve_figures",
    "daily_closes",
    "daily_returns",
    "daily_risk_free",
    "drawdown_series",
    "max_drawdown",
    "sharpe_ratio",
    "sortino_ratio",
    "total_return",
    "volatility",
]

TRADING_DAYS = 252
_ZERO_DISPERSION = 1e-12


class Drawdown(msgspec.Struct, frozen=True, kw_only=True):
    """The deepest fall of a curve from a running peak."""

    depth: float
    """Fraction of the peak, ≤ 0 (-0.12 is a 12 % drawdown)."""
    peak_ns: int
    """The last time the curve stood at the peak before falling."""
    trough_ns: int
    recovery_ns: int | None
    """The first time back at the peak; None if it never got back before the end."""
    end_ns: int
    """recovery_ns, or the end of the run when not recovered."""

    @property
    def duration_days(self) -> float:
        """Calendar days from the peak to recovery (or to the end)."""
        return (self.end_ns - self.peak_ns) / DAY_NS


class CurveFigures(msgspec.Struct, frozen=True, kw_only=True):
    """Everything read off one equity curve; None where the curve cannot give it."""

    start_equity: Decimal | None
    end_equity: Decimal | None
    net_pnl: Decimal | None
    total_return: float | None
    annualised_return: float | None
    trading_days: int
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    drawdown: Drawdown | None


def _ordered(points: Sequence[EquityPoint]) -> list[EquityPoint]:
    return sorted(points, key=lambda p: p.ts_ns)


def daily_closes(points: Sequence[EquityPoint]) -> list[tuple[date, Decimal]]:
    """The last equity of each IST trading day, in date order."""
    closes: dict[date, Decimal] = {}
    for p in _ordered(points):
        closes[ist_date(p.ts_ns)] = p.equity
    return sorted(closes.items())


def daily_returns(points: Sequence[EquityPoint]) -> list[float] | None:
    """One return per trading day; None when a level it divides by is not positive."""
    if not points:
        return []
    previous = _ordered(points)[0].equity
    out: list[float] = []
    for _, close in daily_closes(points):
        if previous <= 0:
            return None
        out.append(float(close / previous - 1))
        previous = close
    return out


def total_return(points: Sequence[EquityPoint]) -> float | None:
    """Last point over the first, less one; None without a positive opening level."""
    if not points:
        return None
    ordered = _ordered(points)
    first, last = ordered[0].equity, ordered[-1].equity
    return float(last / first - 1) if first > 0 else None


def annualised_return(total: float | None, days: int) -> float | None:
    """Compound annual growth over `days` trading days of 252 a year."""
    if total is None or days <= 0:
        return None
    growth = 1.0 + total
    if growth <= 0:
        return -1.0  # everything lost: there is nothing left to compound
    try:
        return float(growth ** (TRADING_DAYS / days) - 1.0)
    except OverflowError:
        return None  # a short, wild run whose annual figure is not a number worth showing


def daily_risk_free(annual: float) -> float:
    """The daily rate that compounds to `annual` over 252 trading days."""
    return float((1.0 + annual) ** (1.0 / TRADING_DAYS) - 1.0)


def volatility(returns: Sequence[float]) -> float | None:
    """Annualised sample standard deviation of the daily returns."""
    if len(returns) < 2:
        return None
    return statistics.stdev(returns) * math.sqrt(TRADING_DAYS)


def sharpe_ratio(returns: Sequence[float], risk_free_annual: float = 0.0) -> float | None:
    """Annualised Sharpe ratio of daily returns (sample stdev); None if undefined."""
    if len(returns) < 2:
        return None
    rf = daily_risk_free(risk_free_annual)
    excess = [r - rf for r in returns]
    sd = statistics.stdev(excess)
    if sd < _ZERO_DISPERSION:
        return None
    return statistics.fmean(excess) / sd * math.sqrt(TRADING_DAYS)


def sortino_ratio(returns: Sequence[float], risk_free_annual: float = 0.0) -> float | None:
    """Annualised Sortino ratio, downside deviation sqrt(mean(min(r - rf, 0)²))."""
    if len(returns) < 2:
        return None
    rf = daily_risk_free(risk_free_annual)
    excess = [r - rf for r in returns]
    downside = math.sqrt(statistics.fmean(min(x, 0.0) ** 2 for x in excess))
    if downside < _ZERO_DISPERSION:
        return None
    return statistics.fmean(excess) / downside * math.sqrt(TRADING_DAYS)


def drawdown_series(points: Sequence[EquityPoint]) -> list[tuple[int, float]]:
    """(ts_ns, fraction below the running peak, ≤ 0) at every point with a positive peak."""
    out: list[tuple[int, float]] = []
    peak: Decimal | None = None
    for p in _ordered(points):
        peak = p.equity if peak is None else max(peak, p.equity)
        if peak > 0:
            out.append((p.ts_ns, float(p.equity / peak - 1)))
    return out


def max_drawdown(points: Sequence[EquityPoint], end_ns: int) -> Drawdown | None:
    """The deepest drawdown and its span; None if the curve never fell below a peak."""
    ordered = _ordered(points)
    if not ordered:
        return None
    peak, peak_ns = ordered[0].equity, ordered[0].ts_ns
    depth = Decimal(0)
    deepest: tuple[Decimal, int, int] | None = None  # (peak level, peak time, trough time)
    for p in ordered:
        if p.equity >= peak:
            peak, peak_ns = p.equity, p.ts_ns
        elif peak > 0 and p.equity / peak - 1 < depth:
            depth = p.equity / peak - 1
            deepest = (peak, peak_ns, p.ts_ns)
    if deepest is None:
        return None
    level, at_peak, trough = deepest
    recovery = next((p.ts_ns for p in ordered if p.ts_ns > trough and p.equity >= level), None)
    end = recovery if recovery is not None else max(end_ns, ordered[-1].ts_ns)
    return Drawdown(
        depth=float(depth), peak_ns=at_peak, trough_ns=trough, recovery_ns=recovery, end_ns=end
    )


def curve_figures(
    points: Sequence[EquityPoint], end_ns: int, risk_free_annual: float = 0.0
) -> CurveFigures:
    """Every figure of one curve; a curve with no points or no positive level gives Nones."""
    ordered = _ordered(points)
    returns = daily_returns(ordered)
    total = total_return(ordered)
    days = len(returns) if returns is not None else 0
    dd = max_drawdown(ordered, end_ns)
    start = ordered[0].equity if ordered else None
    end = ordered[-1].equity if ordered else None
    return CurveFigures(
        start_equity=start,
        end_equity=end,
        net_pnl=end - start if start is not None and end is not None else None,
        total_return=total,
        annualised_return=annualised_return(total, days),
        trading_days=days,
        volatility=volatility(returns) if returns else None,
        sharpe=sharpe_ratio(returns, risk_free_annual) if returns else None,
        sortino=sortino_ratio(returns, risk_free_annual) if returns else None,
        max_drawdown=dd.depth if dd is not None else (0.0 if start and start > 0 else None),
        drawdown=dd,
    )
