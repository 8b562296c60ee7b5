"""Paper-versus-live drift: how far a live fill lands from the paper model's fill. Pure.

With `ALPHA_PANDA_BROKERS=paper,zerodha` the same strategies trade both brokers on the same
ticks, so one market signal becomes one order on each. The pair is found by what both
orders share: the strategy, the instrument, the side and the timestamp of the tick the
signal was made on (`tick_ts`, carried from the signal onto every fill). An order's price
is the average price of its final fill (the whole order, partial fills included).

Drift is signed as a cost: positive when the live order did worse than paper (a buy
paid more, a sell received less), in rupees per share and in basis points of the paper
price. Every figure is `Decimal`; a pair is counted once, however often its fills arrive
(a redelivery or a replay of the stream).
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import msgspec

from schemas.enums import Side
from schemas.events import OrderFilled

__all__ = ["DriftBook", "DriftFigure", "PairKey"]

ZERO = Decimal(0)
BPS = Decimal(10_000)
PAISA = Decimal("0.01")
BPS_PLACES = Decimal("0.01")

#: (strategy id, instrument token, side, tick timestamp of the signal)
PairKey = tuple[str, int, Side, int]


class DriftFigure(msgspec.Struct, kw_only=True):
    """The drift of one strategy on one instrument, over every matched pair."""

    strategy_id: str
    instrument_token: int
    symbol: str | None = None
    pairs: int = 0
    total: Decimal = ZERO  # sum of per-share drift, rupees
    total_bps: Decimal = ZERO
    last: Decimal = ZERO
    worst: Decimal = ZERO  # the largest cost (most positive drift)

    @property
    def mean(self) -> Decimal:
        return (self.total / self.pairs).quantize(PAISA) if self.pairs else ZERO

    @property
    def mean_bps(self) -> Decimal:
        return (self.total_bps / self.pairs).quantize(BPS_PLACES) if self.pairs else ZERO

    def to_status(self) -> dict[str, object]:
        return {
            "symbol": self.symbol or str(self.instrument_token),
            "pairs": self.pairs,
            "mean": str(self.mean),
            "mean_bps": str(self.mean_bps),
            "last": str(self.last.quantize(PAISA)),
            "worst": str(self.worst.quantize(PAISA)),
        }


class DriftBook:
    """Matches final fills of the live broker with the paper broker's, per signal."""

    def __init__(
        self,
        live: str = "zerodha",
        paper: str = "paper",
        *,
        strategies: frozenset[str] | None = None,
        pending_cap: int = 10_000,
    ) -> None:
        """`strategies`: the ones trading on both brokers (None: every strategy); a fill of
        another strategy can have no pair and is not kept waiting for one."""
        self.live, self.paper = live, paper
        self.strategies = strategies
        self.pending_cap = pending_cap
        # one side seen, waiting for the other: key -> (broker, average price, symbol)
        self._pending: OrderedDict[PairKey, tuple[str, Decimal, str | None]] = OrderedDict()
        # pairs already counted (a redelivered or replayed fill must not count twice)
        self._matched: OrderedDict[PairKey, None] = OrderedDict()
        self.figures: dict[tuple[str, int], DriftFigure] = {}
        self.unmatched_dropped = 0

    def on_fill(self, broker: str, fill: OrderFilled) -> DriftFigure | None:
        """Take a fill of either broker; the figure it completes a pair of, else None."""
        if not fill.final or broker not in (self.live, self.paper):
            return None
        if self.strategies is not None and fill.strategy_id not in self.strategies:
            return None
        key: PairKey = (fill.strategy_id, fill.instrument_token, fill.side, fill.tick_ts)
        if key in self._matched:
            return None
        other = self._pending.get(key)
        if other is None or other[0] == broker:
            self._pending[key] = (broker, fill.average_price, fill.symbol)
            self._pending.move_to_end(key)
            while len(self._pending) > self.pending_cap:
                self._pending.popitem(last=False)
                self.unmatched_dropped += 1
            return None
        del self._pending[key]
        self._matched[key] = None
        while len(self._matched) > 10 * self.pending_cap:
            self._matched.popitem(last=False)
        live_px, paper_px = (
            (fill.average_price, other[1])
            if broker == self.live
            else (other[1], fill.average_price)
        )
        return self._record(key, live_px, paper_px, fill.symbol or other[2])

    def _record(
        self, key: PairKey, live_px: Decimal, paper_px: Decimal, symbol: str | None
    ) -> DriftFigure:
        strategy_id, token, side, _ = key
        drift = live_px - paper_px if side is Side.BUY else paper_px - live_px
        figure = self.figures.get((strategy_id, token))
        if figure is None:
            figure = DriftFigure(strategy_id=strategy_id, instrument_token=token, symbol=symbol)
            self.figures[(strategy_id, token)] = figure
        figure.pairs += 1
        figure.total += drift
        if paper_px:
            figure.total_bps += drift * BPS / paper_px
        figure.last = drift
        figure.worst = max(figure.worst, drift) if figure.pairs > 1 else drift
        return figure

    @property
    def pending(self) -> int:
        return len(self._pending)

    def to_status(self) -> dict[str, object]:
        """Per strategy, per instrument: pairs, mean drift (rupees and bps), last, worst."""
        by_strategy: dict[str, dict[str, object]] = {}
        for (sid, token), fig in sorted(self.figures.items()):
            by_strategy.setdefault(sid, {})[str(token)] = fig.to_status()
        return {
            "live": self.live,
            "paper": self.paper,
            "pairs": sum(f.pairs for f in self.figures.values()),
            "waiting": self.pending,
            "unmatched_dropped": self.unmatched_dropped,
            "strategies": by_strategy,
        }
