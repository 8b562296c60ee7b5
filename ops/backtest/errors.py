"""Errors of backtesting; each message names the problem (the file and line) and the fix."""

from __future__ import annotations

from schemas.errors import ConfigError

__all__ = ["DataError", "ReportError", "SweepError"]


class DataError(ConfigError):
    """Market data that cannot be used: names the file, line and column, and the fix."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        where = (path or "") + (f":{line}" if line is not None else "")
        if column:
            where += f": column {column!r}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path, self.line, self.column = path, line, column


class ReportError(ValueError):
    """A backtest result cannot be reported as given (a missing series, a reversed span)."""


class SweepError(ConfigError):
    """A `--grid`, `--walk-forward` or `--sort` a sweep cannot use; the message names the fix."""
