"""The typed outcome of a backtest run: what the engine hands to the report.

Contract with the engine:
- every equity series starts with its opening point (the capital given to that strategy,
  or the whole `capital` for "total") at or before the first fill, and then has at least
  one point per trading day it covers; equity is capital plus profit and loss, marked to
  market and net of charges, so it stays a level (never a bare PnL that starts at zero);
- `equity["total"]` is always there; strategies are keyed by their strategy id;
- a fill's `realized_pnl` is the profit or loss it closed under average-cost accounting,
  before charges (0 for a fill that opens or adds to a position); charges are separate.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from schemas.enums import Side

__all__ = ["TOTAL", "FillRecord", "EquityPoint", "BacktestResult"]

TOTAL = "total"
"""The key of the whole account's equity series (all strategies together)."""


class FillRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One fill of the run, as the ledger booked it (scalars only: no reference cycle can
    hold one, so the cyclic GC need not track the run's many fills, `gc=False`)."""

    ts_ns: int
    strategy_id: str
    instrument_token: int
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    charges: Decimal
    realized_pnl: Decimal
    order_id: str
    fill_id: str

    @property
    def value(self) -> Decimal:
        """Traded value in rupees: quantity times price."""
        return self.price * self.quantity

    @property
    def signed_quantity(self) -> int:
        return self.quantity * self.side.sign


class EquityPoint(msgspec.Struct, frozen=True, kw_only=True):
    """Marked-to-market equity (capital + PnL - charges) at an event time."""

    ts_ns: int
    equity: Decimal


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the report shows of one run."""

    capital: Decimal
    start_ns: int
    end_ns: int
    equity: dict[str, list[EquityPoint]]
    fills: list[FillRecord] = []
    findings: list[str] = []
    """Problems found in the data (gaps, bad ticks, skipped rows), shown in the report."""
    config: dict[str, str] = {}
    """A summary of how the run was set up (data file, strategies, parameters)."""
    risk_free_rate: float = 0.0
    """Annual risk-free rate as a fraction (0.065 for 6.5 %)."""
