"""Z-score mean reversion.

Over the last `window` prices (the current one included), `z = (price - mean) / std`
with the population standard deviation. Flat: `z <= -entry_z` goes LONG (price stretched
below its mean), `z >= entry_z` goes SHORT (FLAT without `allow_short`). Long: back to
FLAT once `z >= -exit_z`; short: FLAT once `z <= exit_z`; a move through the opposite
entry level reverses. A window with zero variance holds. Because the current price is in
the window, `|z|` can never exceed `sqrt(window - 1)`, so `entry_z` must stay below it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from actors.errors import ParamError
from actors.instruments import Instrument
from actors.strategies.base import (
    Decision,
    InstrumentSnapshot,
    Position,
    Strategy,
    StrategyParams,
    StrategySnapshot,
)

__all__ = ["MeanReversionParams", "MeanReversionStrategy", "zscore"]

MAX_WINDOW = 10_000


class MeanReversionParams(StrategyParams, frozen=True, kw_only=True):
    window: int = 20
    entry_z: float = 2.0
    exit_z: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 3 <= self.window <= MAX_WINDOW:
            raise ParamError(
                "window",
                f"must be between 3 and {MAX_WINDOW}, got {self.window}",
                "use a window of ticks such as 20",
            )
        if not 0 <= self.exit_z < self.entry_z:
            raise ParamError(
                "exit_z",
                f"must be >= 0 and below entry_z ({self.entry_z}), got {self.exit_z}",
                "exit nearer the mean than you enter, e.g. entry_z: 2.0, exit_z: 0.5",
            )
        reachable = math.sqrt(self.window - 1)
        if not self.entry_z < reachable:
            raise ParamError(
                "entry_z",
                f"{self.entry_z} can never be reached with window {self.window} "
                f"(|z| <= sqrt(window - 1) = {reachable:.2f})",
                "lower entry_z or widen the window",
            )


def zscore(prices: Iterable[Decimal]) -> float | None:
    """z of the last price against the whole sequence; None when the variance is zero."""
    xs = [float(p) for p in prices]
    if len(xs) < 2:
        return None
    mean = math.fsum(xs) / len(xs)
    var = math.fsum((x - mean) ** 2 for x in xs) / len(xs)
    if var <= 0:
        return None
    return (xs[-1] - mean) / math.sqrt(var)


class MeanReversionInstrument(InstrumentSnapshot, kw_only=True):
    prices: list[Decimal] = msgspec.field(default_factory=list)


class MeanReversionSnapshot(
    StrategySnapshot[MeanReversionInstrument], kw_only=True, tag="mean_reversion"
):
    pass


class MeanReversionStrategy(Strategy[MeanReversionParams]):
    """Fade stretches: buy far below the rolling mean, exit as it comes back."""

    kind: ClassVar[str] = "mean_reversion"
    params_type: ClassVar[type[StrategyParams]] = MeanReversionParams
    snapshot_type: ClassVar[type[StrategySnapshot[Any]]] = MeanReversionSnapshot

    def __init__(
        self, strategy_id: str, instruments: Iterable[Instrument], params: MeanReversionParams
    ) -> None:
        super().__init__(strategy_id, instruments, params)
        self._windows: dict[int, deque[Decimal]] = {
            t: deque(maxlen=params.window) for t in self.instruments
        }

    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        window = self._windows[token]
        window.append(price)
        if len(window) < self.params.window:
            return None
        z = zscore(window)
        if z is None:
            return None
        entry, exit_ = self.params.entry_z, self.params.exit_z
        if z <= -entry:
            return Decision(Position.LONG, f"z {z:.2f} <= -{entry:g}")
        if z >= entry:
            return Decision(Position.SHORT, f"z {z:.2f} >= {entry:g}")
        if position is Position.LONG and z >= -exit_:
            return Decision(Position.FLAT, f"z {z:.2f} back above -{exit_:g}")
        if position is Position.SHORT and z <= exit_:
            return Decision(Position.FLAT, f"z {z:.2f} back below {exit_:g}")
        return None

    def _indicator_snapshot(self, token: int, position: Position) -> MeanReversionInstrument:
        return MeanReversionInstrument(position=position, prices=list(self._windows[token]))

    def _indicator_restore(self, token: int, data: MeanReversionInstrument) -> None:
        window: deque[Decimal] = deque(maxlen=self.params.window)
        window.extend(data.prices)
        self._windows[token] = window
