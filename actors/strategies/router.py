"""Routes each tick to the strategies trading its instrument, isolating their failures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from actors.strategies.base import Strategy
from schemas.events import MarketTick, TradingSignal

__all__ = ["RouteResult", "StrategyRouter"]


@dataclass(slots=True)
class RouteResult:
    """The signals of one tick, and the strategies that raised on it (with the error)."""

    signals: list[TradingSignal] = field(default_factory=list)
    errors: list[tuple[str, Exception]] = field(default_factory=list)


#: what a tick that causes nothing routes to, shared (most ticks; readers never mutate it)
_SILENT = RouteResult()


class StrategyRouter:
    """Maps instrument token → strategies (a dict lookup per tick).

    A strategy that raises on a tick is reported in `RouteResult.errors`; the others
    still see the tick, so one faulty strategy never silences the rest.
    """

    __slots__ = ("_by_id", "_by_token")

    def __init__(self, strategies: Iterable[Strategy[Any]]) -> None:
        self._by_id: dict[str, Strategy[Any]] = {}
        by_token: dict[int, list[Strategy[Any]]] = {}
        for strategy in strategies:
            if strategy.strategy_id in self._by_id:
                raise ValueError(
                    f"two strategies share the id {strategy.strategy_id!r}; ids must be unique"
                )
            self._by_id[strategy.strategy_id] = strategy
            for token in strategy.instruments:
                by_token.setdefault(token, []).append(strategy)
        self._by_token = {token: tuple(group) for token, group in by_token.items()}

    @property
    def strategies(self) -> tuple[Strategy[Any], ...]:
        return tuple(self._by_id.values())

    @property
    def tokens(self) -> frozenset[int]:
        """Every instrument some strategy trades: what the runner subscribes to."""
        return frozenset(self._by_token)

    def get(self, strategy_id: str) -> Strategy[Any] | None:
        return self._by_id.get(strategy_id)

    def for_token(self, token: int) -> tuple[Strategy[Any], ...]:
        return self._by_token.get(token, ())

    def on_tick(self, tick: MarketTick, ts_ns: int) -> RouteResult:
        # most ticks cause nothing: the lists are built only when a strategy speaks or
        # raises (a backtest calls this once a tick, so the allocations were its cost)
        signals: list[TradingSignal] | None = None
        errors: list[tuple[str, Exception]] | None = None
        for strategy in self._by_token.get(tick.instrument_token, ()):
            try:
                out = strategy.on_tick(tick, ts_ns)
            except Exception as exc:  # isolation is the point: report, never propagate
                if errors is None:
                    errors = []
                errors.append((strategy.strategy_id, exc))
                continue
            if out:
                if signals is None:
                    signals = []
                signals.extend(out)
        if signals is None and errors is None:
            return _SILENT
        return RouteResult([] if signals is None else signals, [] if errors is None else errors)
