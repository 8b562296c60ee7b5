"""RSI (Wilder's relative strength index) overbought/oversold.

With `change = price - previous price`, `gain = max(change, 0)`, `loss = max(-change, 0)`:
the first averages are the simple means of the first `period` changes; after that
`avg = (avg · (period - 1) + value) / period` (Wilder's smoothing). `RSI = 100 - 100 / (1 +
avg_gain / avg_loss)`, 100 when `avg_loss` is 0 (50 when both are 0).

Flat: `RSI < oversold` goes LONG, `RSI > overbought` goes SHORT (FLAT without
`allow_short`). Long: `RSI > overbought` reverses (or exits), else `RSI >= exit_level`
exits. Short: `RSI < oversold` reverses, else `RSI <= exit_level` exits.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

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

__all__ = ["RsiParams", "RsiStrategy", "rsi_of"]

MAX_PERIOD = 1_000


class RsiParams(StrategyParams, frozen=True, kw_only=True):
    period: int = 14
    oversold: float = 30.0
    overbought: float = 70.0
    exit_level: float = 50.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.period <= MAX_PERIOD:
            raise ParamError(
                "period",
                f"must be between 2 and {MAX_PERIOD}, got {self.period}",
                "use 14 (Wilder's) or a shorter period such as 7 for fast data",
            )
        if not 0 < self.oversold < self.exit_level < self.overbought < 100:
            raise ParamError(
                "exit_level" if 0 < self.oversold < self.overbought < 100 else "oversold",
                f"need 0 < oversold ({self.oversold}) < exit_level ({self.exit_level}) "
                f"< overbought ({self.overbought}) < 100",
                "use e.g. oversold: 30, exit_level: 50, overbought: 70",
            )


def rsi_of(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0:
        return 50.0 if avg_gain == 0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


class _Averages:
    __slots__ = ("avg_gain", "avg_loss", "changes", "last")

    def __init__(self) -> None:
        self.last: Decimal | None = None
        self.changes = 0  # changes seen, counted up to `period`
        self.avg_gain = 0.0  # running sums until `period` changes are seen, then averages
        self.avg_loss = 0.0


class RsiInstrument(InstrumentSnapshot, kw_only=True):
    period: int = 0  # the averages below are of this period
    last: Decimal | None = None
    changes: int = 0
    avg_gain: float = 0.0
    avg_loss: float = 0.0


class RsiSnapshot(StrategySnapshot[RsiInstrument], kw_only=True, tag="rsi"):
    pass


class RsiStrategy(Strategy[RsiParams]):
    """Buy oversold, sell overbought, exit when RSI returns to `exit_level`."""

    kind: ClassVar[str] = "rsi"
    params_type: ClassVar[type[StrategyParams]] = RsiParams
    snapshot_type: ClassVar[type[StrategySnapshot[Any]]] = RsiSnapshot

    def __init__(
        self, strategy_id: str, instruments: Iterable[Instrument], params: RsiParams
    ) -> None:
        super().__init__(strategy_id, instruments, params)
        self._avgs = {t: _Averages() for t in self.instruments}

    def rsi(self, token: int) -> float | None:
        """The current RSI of an instrument, once `period` changes were seen."""
        a = self._avgs[token]
        return rsi_of(a.avg_gain, a.avg_loss) if a.changes >= self.params.period else None

    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        a, n = self._avgs[token], self.params.period
        last, a.last = a.last, price
        if last is None:
            return None
        change = float(price - last)
        gain, loss = max(change, 0.0), max(-change, 0.0)
        if a.changes < n:
            a.avg_gain += gain
            a.avg_loss += loss
            a.changes += 1
            if a.changes < n:
                return None
            a.avg_gain /= n
            a.avg_loss /= n
        else:
            a.avg_gain = (a.avg_gain * (n - 1) + gain) / n
            a.avg_loss = (a.avg_loss * (n - 1) + loss) / n
        rsi = rsi_of(a.avg_gain, a.avg_loss)
        p = self.params
        if rsi < p.oversold:
            return Decision(Position.LONG, f"RSI{n} {rsi:.1f} < {p.oversold:g}")
        if rsi > p.overbought:
            return Decision(Position.SHORT, f"RSI{n} {rsi:.1f} > {p.overbought:g}")
        if position is Position.LONG and rsi >= p.exit_level:
            return Decision(Position.FLAT, f"RSI{n} {rsi:.1f} >= {p.exit_level:g}")
        if position is Position.SHORT and rsi <= p.exit_level:
            return Decision(Position.FLAT, f"RSI{n} {rsi:.1f} <= {p.exit_level:g}")
        return None

    def _indicator_snapshot(self, token: int, position: Position) -> RsiInstrument:
        a = self._avgs[token]
        return RsiInstrument(
            position=position, period=self.params.period, last=a.last, changes=a.changes,
            avg_gain=a.avg_gain, avg_loss=a.avg_loss,
        )  # fmt: skip

    def _indicator_restore(self, token: int, data: RsiInstrument) -> None:
        a = _Averages()
        if data.period == self.params.period:  # averages of another period mislead
            a.last, a.changes = data.last, data.changes
            a.avg_gain, a.avg_loss = data.avg_gain, data.avg_loss
        self._avgs[token] = a
