"""Errors of the backtest report; each message names the problem and the fix."""

from __future__ import annotations

__all__ = ["ReportError"]


class ReportError(ValueError):
    """A backtest result cannot be reported as given (a missing series, a reversed span)."""
