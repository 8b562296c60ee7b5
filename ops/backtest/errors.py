"""Errors of backtesting; each message names the problem (the file and line) and the fix."""

from __future__ import annotations

from schemas.errors import ConfigError

__all__ = ["ReportError", "SweepError"]


class ReportError(ValueError):
    """A backtest result cannot be reported as given (a missing series, a reversed span)."""


class SweepError(ConfigError):
    """A `--grid`, `--walk-forward` or `--sort` a sweep cannot use; the message names the fix."""
