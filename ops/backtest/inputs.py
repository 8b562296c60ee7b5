"""What a backtest reads besides its data (`ops/backtest/data.py`): the time range and the
strategies it runs.

Bad input is a `BacktestInputError` (a `ConfigError`: the CLI prints it, no traceback)
naming the file, the line and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from actors.errors import StrategyConfigError
from actors.instruments import InstrumentBook
from actors.strategies.config import StrategyConfig, load_strategies_yaml
from ops.errors import ConfigError

__all__ = ["BacktestInputError", "parse_bound", "select_strategies"]

IST = timezone(timedelta(hours=5, minutes=30))
_DAY_NS = 86_400 * 10**9


class BacktestInputError(ConfigError):
    """Data, a range or a strategy selection a backtest cannot use; names the fix."""


def parse_bound(text: str, option: str, *, end: bool = False) -> int:
    """`--from`/`--to`: an IST date (the whole day) or an ISO-8601 time, as ns."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=IST)
            ns = int(start.timestamp()) * 10**9
            return ns + _DAY_NS - 1 if end else ns
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestInputError(
            f"{option} {text!r} is not a date: write 2024-11-25 (an IST day) or "
            "2024-11-25T09:15:00+05:30"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=IST)
    return int(when.timestamp() * 1e6) * 1000


def select_strategies(
    selection: str | None, configured: Sequence[StrategyConfig], book: InstrumentBook
) -> list[StrategyConfig]:
    """`--strategies`: a strategies file, or ids (comma-separated) of the configuration.
    None: the configuration's strategies enabled on paper."""
    if selection is None:
        return [c for c in configured if c.enabled and "paper" in c.brokers]
    path = Path(selection)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        try:
            return load_strategies_yaml(path, book)
        except StrategyConfigError as exc:
            raise BacktestInputError(str(exc)) from None
    by_id = {c.id: c for c in configured}
    wanted = [s.strip() for s in selection.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in by_id]
    if unknown or not wanted:
        raise BacktestInputError(
            f"--strategies: unknown strategy {', '.join(unknown) or '(none given)'}; "
            f"configured: {', '.join(sorted(by_id)) or 'none'} (or pass a strategies file)"
        )
    return [by_id[s] for s in wanted]
