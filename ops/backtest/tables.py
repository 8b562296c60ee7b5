"""The summary tables, column by column, shared by report.html and the console.

A column is a header and a function from a strategy's figures to a formatted cell; a cell
carries the CSS tone of a signed figure ("pos" green, "neg" red), which the console drops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ops.backtest.formatting import NA, count, percent, ratio, rupees, signed_rupees, tone
from ops.backtest.ist import ist_text
from ops.backtest.summary import Figures

__all__ = ["Cell", "Column", "RISK", "TRADING", "CONSOLE", "cells", "drawdown_note"]


class Cell(NamedTuple):
    text: str
    tone: str = ""
    title: str = ""


class Column(NamedTuple):
    header: str
    cell: Callable[[Figures], Cell]


def _days(f: Figures) -> Cell:
    dd = f.curve.drawdown
    if dd is None:
        return Cell(NA if f.curve.max_drawdown is None else "0.0")
    return Cell(f"{dd.duration_days:,.1f}" + ("" if dd.recovery_ns is not None else "+"), "",
                drawdown_note(f))  # fmt: skip


def drawdown_note(f: Figures) -> str:
    """Peak, trough and recovery of the deepest drawdown, for people."""
    dd = f.curve.drawdown
    if dd is None:
        return "no drawdown"
    back = (f"recovered {ist_text(dd.recovery_ns)}" if dd.recovery_ns is not None
            else f"not recovered by the end, {ist_text(dd.end_ns)}")  # fmt: skip
    return (f"{percent(dd.depth)} from the peak at {ist_text(dd.peak_ns)} to the trough at "
            f"{ist_text(dd.trough_ns)}; {back} ({dd.duration_days:,.1f} days)")  # fmt: skip


def _signed_pct(get: Callable[[Figures], float | None]) -> Callable[[Figures], Cell]:
    return lambda f: Cell(percent(get(f), signed=True), tone(get(f)))


_NET_PNL = Column("Net PnL", lambda f: Cell(signed_rupees(f.curve.net_pnl), tone(f.curve.net_pnl)))
_RETURN = Column("Return", _signed_pct(lambda f: f.curve.total_return))
_ANNUAL = Column("Ann. return", _signed_pct(lambda f: f.curve.annualised_return))
_SHARPE = Column("Sharpe", lambda f: Cell(ratio(f.curve.sharpe)))
_SORTINO = Column("Sortino", lambda f: Cell(ratio(f.curve.sortino)))
_MAX_DD = Column("Max DD", lambda f: Cell(percent(f.curve.max_drawdown), tone(f.curve.max_drawdown),
                                         drawdown_note(f)))  # fmt: skip
_DD_DAYS = Column("DD days", _days)
_TRADES = Column("Trades", lambda f: Cell(count(f.trades.trades)))
_WIN_RATE = Column("Win rate", lambda f: Cell(percent(f.trades.win_rate)))
_PROFIT_FACTOR = Column("Profit factor", lambda f: Cell(ratio(f.trades.profit_factor)))
_EXPOSURE = Column("Exposure", lambda f: Cell(percent(f.exposure)))
_CHARGES = Column("Charges", lambda f: Cell(rupees(f.trades.charges)))

RISK: Sequence[Column] = (
    Column("Start equity", lambda f: Cell(rupees(f.curve.start_equity))),
    Column("End equity", lambda f: Cell(rupees(f.curve.end_equity))),
    _NET_PNL, _RETURN, _ANNUAL,
    Column("Days", lambda f: Cell(count(f.curve.trading_days))),
    Column("Volatility", lambda f: Cell(percent(f.curve.volatility))),
    _SHARPE, _SORTINO, _MAX_DD, _DD_DAYS,
)  # fmt: skip
TRADING: Sequence[Column] = (
    Column("Fills", lambda f: Cell(count(f.trades.fills))),
    _TRADES, _WIN_RATE, _PROFIT_FACTOR,
    Column("Avg win", lambda f: Cell(signed_rupees(f.trades.average_win),
                                       tone(f.trades.average_win))),
    Column("Avg loss", lambda f: Cell(signed_rupees(f.trades.average_loss),
                                        tone(f.trades.average_loss))),
    Column("Realized PnL", lambda f: Cell(signed_rupees(f.trades.realized_pnl),
                                        tone(f.trades.realized_pnl))),
    _CHARGES,
    Column("Turnover", lambda f: Cell(rupees(f.trades.turnover))),
    _EXPOSURE,
)  # fmt: skip
CONSOLE: Sequence[Column] = (
    _NET_PNL, _RETURN, _ANNUAL, _SHARPE, _SORTINO, _MAX_DD, _DD_DAYS, _TRADES, _WIN_RATE,
    _PROFIT_FACTOR, _EXPOSURE, _CHARGES,
)  # fmt: skip


def cells(rows: Sequence[Figures], columns: Sequence[Column]) -> list[tuple[Figures, list[Cell]]]:
    return [(f, [c.cell(f) for c in columns]) for f in rows]
