"""Strategy types by the name configuration uses (`type:` in strategies.yaml)."""

from __future__ import annotations

from typing import Any

from actors.strategies.base import Strategy
from actors.strategies.mean_reversion import MeanReversionStrategy
from actors.strategies.momentum import MomentumStrategy
from actors.strategies.rsi import RsiStrategy

__all__ = ["STRATEGY_TYPES", "register_strategy_type", "strategy_type", "strategy_type_names"]

STRATEGY_TYPES: dict[str, type[Strategy[Any]]] = {
    cls.kind: cls for cls in (MomentumStrategy, MeanReversionStrategy, RsiStrategy)
}

# Accepted in configuration but never suggested (the benchmarks' strategy trades nothing).
_UNLISTED: set[str] = set()


def register_strategy_type(cls: type[Strategy[Any]], *, listed: bool = True) -> None:
    """Make `cls` configurable as `type: <cls.kind>`; an unlisted type is never suggested.

    For strategies shipped outside `actors.strategies`, such as the benchmarks' own
    (`ops.bench.strategy`), which registers itself when imported.
    """
    known = STRATEGY_TYPES.get(cls.kind)
    if known is not None and known is not cls:
        raise ValueError(f"strategy type {cls.kind!r} is already {known.__qualname__}")
    STRATEGY_TYPES[cls.kind] = cls
    if not listed:
        _UNLISTED.add(cls.kind)


def strategy_type_names() -> tuple[str, ...]:
    return tuple(sorted(set(STRATEGY_TYPES) - _UNLISTED))


def strategy_type(name: str) -> type[Strategy[Any]]:
    """The class for a config `type`; raises KeyError naming the known types."""
    try:
        return STRATEGY_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown strategy type {name!r}; known types: {', '.join(strategy_type_names())}"
        ) from None
