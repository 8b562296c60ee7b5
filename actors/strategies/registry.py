"""Strategy types by the name configuration uses (`type:` in strategies.yaml)."""

from __future__ import annotations

from typing import Any

from actors.strategies.base import Strategy
from actors.strategies.bench import BenchStrategy
from actors.strategies.mean_reversion import MeanReversionStrategy
from actors.strategies.momentum import MomentumStrategy
from actors.strategies.rsi import RsiStrategy

__all__ = ["STRATEGY_TYPES", "strategy_type", "strategy_type_names"]

STRATEGY_TYPES: dict[str, type[Strategy[Any]]] = {
    cls.kind: cls for cls in (MomentumStrategy, MeanReversionStrategy, RsiStrategy, BenchStrategy)
}


# Accepted in configuration but never suggested: the benchmarks' strategy trades nothing.
_UNLISTED = frozenset({BenchStrategy.kind})


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
