"""The figures of a whole run: one set per strategy and one for the account."""

from __future__ import annotations

import msgspec

from ops.backtest.errors import ReportError
from ops.backtest.metrics import CurveFigures, curve_figures
from ops.backtest.results import TOTAL, BacktestResult
from ops.backtest.trades import TradeStats, exposure, trade_stats

__all__ = ["Figures", "Summary", "summarise"]


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """Curve, trade and exposure figures of one strategy, or of the total."""

    name: str
    curve: CurveFigures
    trades: TradeStats
    exposure: float | None


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """What the report shows: the figures plus the run they came from."""

    result: BacktestResult
    strategies: list[Figures]
    total: Figures

    @property
    def rows(self) -> list[Figures]:
        """Each strategy in id order, then the total."""
        return [*self.strategies, self.total]


def _check(result: BacktestResult) -> None:
    if TOTAL not in result.equity:
        raise ReportError(
            f"the backtest result has no {TOTAL!r} equity series; record the whole account's "
            f"equity under equity[{TOTAL!r}] (strategies under their ids)"
        )
    if result.end_ns < result.start_ns:
        raise ReportError(
            f"the run ends (end_ns={result.end_ns}) before it starts "
            f"(start_ns={result.start_ns}); pass the first and last event times in order"
        )
    for name, points in result.equity.items():
        for p in points:
            if not p.equity.is_finite():
                raise ReportError(
                    f"equity series {name!r} has {p.equity} at ts_ns={p.ts_ns}; "
                    "every equity point must be a finite amount"
                )
    for f in result.fills:
        if f.strategy_id == TOTAL:
            raise ReportError(
                f"fill {f.fill_id} names strategy {TOTAL!r}, the name of the account's "
                "series; rename the strategy"
            )
        if f.quantity <= 0:
            raise ReportError(
                f"fill {f.fill_id} has quantity {f.quantity}; a quantity is a positive count "
                "and the side (BUY/SELL) gives the direction"
            )
        for field in ("price", "charges", "realized_pnl"):
            if not getattr(f, field).is_finite():
                raise ReportError(f"fill {f.fill_id} has {field}={getattr(f, field)}; "
                                  "it must be a finite amount")  # fmt: skip


def summarise(result: BacktestResult) -> Summary:
    """Compute every figure; raises ReportError (naming the fix) on a malformed result."""
    _check(result)
    ids = sorted(({*result.equity} - {TOTAL}) | {f.strategy_id for f in result.fills})

    def figures(name: str, key: str | None) -> Figures:
        fills = [f for f in result.fills if key is None or f.strategy_id == key]
        return Figures(
            name=name,
            curve=curve_figures(
                result.equity.get(key or TOTAL, []), result.end_ns, result.risk_free_rate
            ),
            trades=trade_stats(fills),
            exposure=exposure(fills, result.start_ns, result.end_ns),
        )

    return Summary(
        result=result,
        strategies=[figures(sid, sid) for sid in ids],
        total=figures(TOTAL, None),
    )
