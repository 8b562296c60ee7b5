"""The machine-readable outputs: report.json (every figure) and trades.csv (every fill).

Amounts in report.json are strings rounded to the paisa; ratios and fractions are JSON
numbers, null where undefined; times are given twice, as ts_ns and as IST ISO 8601.
trades.csv keeps every amount exactly as booked.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ops.backtest.formatting import paise
from ops.backtest.ist import ist_iso
from ops.backtest.metrics import TRADING_DAYS, Drawdown
from ops.backtest.results import FillRecord
from ops.backtest.summary import Figures, Summary

__all__ = [
    "CONVENTIONS",
    "REPORT_FORMAT",
    "TRADE_COLUMNS",
    "figures_dict",
    "report_dict",
    "write_json",
    "write_trades_csv",
]

REPORT_FORMAT = 1
CONVENTIONS = {
    "calendar": "trading days are IST (Asia/Kolkata, UTC+05:30) dates with equity points",
    "daily_return": "last equity of the day over the previous day's last (first day: over "
    "the opening point)",
    "annualisation": f"{TRADING_DAYS} trading days a year; ratios scaled by sqrt({TRADING_DAYS})",
    "sharpe": "mean(r - rf) / sample stdev(r - rf), rf the daily risk-free rate",
    "sortino": "mean(r - rf) / sqrt(mean(min(r - rf, 0)^2))",
    "max_drawdown": "over every equity point, fraction of the running peak (<= 0); duration "
    "from the peak to recovery, or to the end of the run",
    "trade": "a closing fill, realized_pnl != 0 (average cost, before charges)",
    "exposure": "fraction of the run's wall-clock time with a non-zero position",
    "turnover": "sum of quantity x price over every fill",
    "money": "rupees, rounded half up to the paisa",
}
TRADE_COLUMNS = (
    "time_ist", "ts_ns", "strategy_id", "instrument_token", "symbol", "side", "quantity",
    "price", "value", "charges", "realized_pnl", "order_id", "fill_id",
)  # fmt: skip


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(paise(amount))


def _time(ts_ns: int | None) -> str | None:
    return None if ts_ns is None else ist_iso(ts_ns)


def _drawdown(dd: Drawdown | None) -> dict[str, Any] | None:
    if dd is None:
        return None
    return {
        "depth": dd.depth, "duration_days": round(dd.duration_days, 4),
        "recovered": dd.recovery_ns is not None,
        "peak_ns": dd.peak_ns, "peak": _time(dd.peak_ns),
        "trough_ns": dd.trough_ns, "trough": _time(dd.trough_ns),
        "recovery_ns": dd.recovery_ns, "recovery": _time(dd.recovery_ns),
        "end_ns": dd.end_ns, "end": _time(dd.end_ns),
    }  # fmt: skip


def figures_dict(fig: Figures) -> dict[str, Any]:
    c, t = fig.curve, fig.trades
    return {
        "start_equity": _money(c.start_equity), "end_equity": _money(c.end_equity),
        "net_pnl": _money(c.net_pnl), "total_return": c.total_return,
        "annualised_return": c.annualised_return, "trading_days": c.trading_days,
        "volatility": c.volatility, "sharpe": c.sharpe, "sortino": c.sortino,
        "max_drawdown": c.max_drawdown,
        "max_drawdown_days": round(c.drawdown.duration_days, 4) if c.drawdown else None,
        "drawdown": _drawdown(c.drawdown), "exposure": fig.exposure,
        "fills": t.fills, "trades": t.trades, "wins": t.wins, "losses": t.losses,
        "win_rate": t.win_rate, "profit_factor": t.profit_factor,
        "gross_profit": _money(t.gross_profit), "gross_loss": _money(t.gross_loss),
        "average_win": _money(t.average_win), "average_loss": _money(t.average_loss),
        "realized_pnl": _money(t.realized_pnl), "charges": _money(t.charges),
        "turnover": _money(t.turnover),
    }  # fmt: skip


def report_dict(summary: Summary) -> dict[str, Any]:
    """Every figure, per strategy and total, with the run's findings and configuration."""
    r = summary.result
    return {
        "format": REPORT_FORMAT,
        "capital": _money(r.capital),
        "start_ns": r.start_ns, "start": ist_iso(r.start_ns),
        "end_ns": r.end_ns, "end": ist_iso(r.end_ns),
        "risk_free_rate": r.risk_free_rate,
        "config": dict(r.config),
        "findings": list(r.findings),
        "conventions": CONVENTIONS,
        "strategies": {f.name: figures_dict(f) for f in summary.strategies},
        "total": figures_dict(summary.total),
    }  # fmt: skip


def write_json(summary: Summary, path: Path) -> None:
    text = json.dumps(report_dict(summary), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _row(f: FillRecord) -> list[str | int]:
    return [ist_iso(f.ts_ns), f.ts_ns, f.strategy_id, f.instrument_token, f.symbol,
            f.side.value, f.quantity, str(f.price), str(f.value), str(f.charges),
            str(f.realized_pnl), f.order_id, f.fill_id]  # fmt: skip


def write_trades_csv(fills: list[FillRecord], path: Path) -> None:
    """Every fill in time order (ties keep the engine's order), amounts exact."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(TRADE_COLUMNS)
        writer.writerows(_row(f) for f in sorted(fills, key=lambda f: f.ts_ns))
