"""The strategy desk: one tick in, the signals of every strategy trading it out, each
naming the tick it was computed on. Pure: no NATS, no clock, no I/O.

The runner (live) and the backtest engine both call `on_tick`; the tick's place in
MARKET (`tick_seq`, `tick_id`) comes from whoever holds the tick: the runner's consumer,
or the backtest's simulated sequence (the tick's index in the data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from actors.strategies.base import Strategy
from actors.strategies.router import RouteResult, StrategyRouter
from schemas.events import MarketTick

__all__ = ["StrategyDesk"]


class StrategyDesk:
    """Routes ticks to strategies (isolating their failures) and names each signal's tick."""

    __slots__ = ("router",)

    def __init__(self, strategies: Iterable[Strategy[Any]]) -> None:
        self.router = StrategyRouter(strategies)

    @property
    def tokens(self) -> frozenset[int]:
        return self.router.tokens

    def on_tick(self, tick: MarketTick, ts_ns: int, tick_seq: int, tick_id: str) -> RouteResult:
        """The signals of `tick` (published at `ts_ns`), and the strategies that raised.

        A signal carries the market's own time of its tick (`event_ts`, the exchange
        timestamp when the tick has one) and the tick's MARKET sequence and id.
        """
        return self.name(self.router.on_tick(tick, ts_ns), tick, tick_seq, tick_id)

    @staticmethod
    def name(result: RouteResult, tick: MarketTick, tick_seq: int, tick_id: str) -> RouteResult:
        """`result`'s signals naming their tick; the backtest routes first (the router's
        `on_tick`) and builds `tick_id` only for the few ticks that cause a signal."""
        if not result.signals:
            return result
        event_ts = tick.exchange_timestamp_ns or 0
        replace = msgspec.structs.replace
        named = [
            replace(s, event_ts=event_ts or s.event_ts, tick_seq=tick_seq, tick_id=tick_id)
            for s in result.signals
        ]
        return RouteResult(named, result.errors)
