"""Trade figures from the fills; pure functions, no I/O.

A "trade" is a closing fill: one whose `realized_pnl` is not zero (the engine books
realized PnL under average-cost accounting, before charges, and 0 on fills that open or
add). A win has realized_pnl > 0, a loss < 0. A close at exactly break-even is not told
apart from an opening fill and so is not counted as a trade. Charges are reported on
their own, never taken off the wins and losses.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from ops.backtest.results import FillRecord

__all__ = ["TradeStats", "exposure", "trade_stats"]


class TradeStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts and sums over the fills of one strategy (or of all)."""

    fills: int
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    """wins / trades; None without a trade."""
    profit_factor: float | None
    """gross profit / |gross loss|; None without a losing trade."""
    gross_profit: Decimal
    gross_loss: Decimal
    """The sum of the losing trades, ≤ 0."""
    average_win: Decimal | None
    average_loss: Decimal | None
    """The mean losing trade, < 0; None without one."""
    realized_pnl: Decimal
    charges: Decimal
    turnover: Decimal
    """Traded value, the sum of quantity times price over every fill, buys and sells alike."""


def trade_stats(fills: Sequence[FillRecord]) -> TradeStats:
    """Win rate, profit factor, averages, charges and turnover of these fills."""
    won = [f.realized_pnl for f in fills if f.realized_pnl > 0]
    lost = [f.realized_pnl for f in fills if f.realized_pnl < 0]
    gross_profit, gross_loss = sum(won, Decimal(0)), sum(lost, Decimal(0))
    trades = len(won) + len(lost)
    return TradeStats(
        fills=len(fills),
        trades=trades,
        wins=len(won),
        losses=len(lost),
        win_rate=len(won) / trades if trades else None,
        profit_factor=float(gross_profit / -gross_loss) if lost else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        average_win=gross_profit / len(won) if won else None,
        average_loss=gross_loss / len(lost) if lost else None,
        realized_pnl=sum((f.realized_pnl for f in fills), Decimal(0)),
        charges=sum((f.charges for f in fills), Decimal(0)),
        turnover=sum((f.value for f in fills), Decimal(0)),
    )


def exposure(fills: Sequence[FillRecord], start_ns: int, end_ns: int) -> float | None:
    """Fraction of the run [start_ns, end_ns] with a non-zero position.

    Positions are netted per (strategy, instrument) from the fills, flat at the start; the
    fills given are exposed while any of those positions is open, so for all strategies
    together two strategies' opposite positions in one instrument still count as exposed.
    Time is wall-clock time over the whole run, nights and holidays included. None for a
    run of no length.
    """
    span = end_ns - start_ns
    if span <= 0:
        return None
    positions: dict[tuple[str, int], int] = {}
    exposed_ns = 0
    open_since: int | None = None
    for f in sorted(fills, key=lambda f: f.ts_ns):
        key = (f.strategy_id, f.instrument_token)
        positions[key] = positions.get(key, 0) + f.signed_quantity
        if positions[key] == 0:
            del positions[key]
        ts = min(max(f.ts_ns, start_ns), end_ns)
        if positions and open_since is None:
            open_since = ts
        elif not positions and open_since is not None:
            exposed_ns += ts - open_since
            open_since = None
    if open_since is not None:
        exposed_ns += end_ns - open_since
    return exposed_ns / span
