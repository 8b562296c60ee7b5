"""Moving-average crossover momentum.

`fast = SMA(fast_window)` and `slow = SMA(slow_window)` of the last prices. Once the slow
window is full, the sign of `fast - slow` is remembered; when it flips from negative to
positive the strategy goes LONG, from positive to negative it goes SHORT (or FLAT without
`allow_short`). A tick where the averages are equal flips nothing. No trade is made on the
first full window: only an actual crossing counts. The averages are exact (Decimal): the
sign is that of `sum_fast · slow_window - sum_slow · fast_window`.
"""

from __future__ import annotations

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

__all__ = ["MomentumParams", "MomentumStrategy"]

MAX_WINDOW = 10_000
# enum members as module aliases (a class attribute lookup of an enum is slow on 3.11)
_LONG, _SHORT = Position.LONG, Position.SHORT


class MomentumParams(StrategyParams, frozen=True, kw_only=True):
    fast_window: int = 5
    slow_window: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.fast_window <= MAX_WINDOW:
            raise ParamError(
                "fast_window",
                f"must be between 1 and {MAX_WINDOW}, got {self.fast_window}",
                "use a small number of ticks such as 5",
            )
        if not self.fast_window < self.slow_window <= MAX_WINDOW:
            raise ParamError(
                "slow_window",
                f"must be greater than fast_window ({self.fast_window}) and at most "
                f"{MAX_WINDOW}, got {self.slow_window}",
                f"set slow_window to a larger number than fast_window, e.g. {self.fast_window * 4}",
            )


class _Book:
    """The last `slow_window` prices and the running sums of both windows (exact: Decimal
    additions and subtractions of prices lose nothing), so a tick costs O(1)."""

    __slots__ = ("fast_n", "fast_sum", "prices", "sign", "slow_sum")

    def __init__(self, fast_window: int, slow_window: int) -> None:
        self.prices: deque[Decimal] = deque(maxlen=slow_window)
        self.fast_n = fast_window
        self.fast_sum = self.slow_sum = Decimal(0)
        self.sign: int | None = None  # sign of fast - slow at the last non-equal tick

    def push(self, price: Decimal) -> None:
        prices = self.prices
        if len(prices) == prices.maxlen:
            self.slow_sum -= prices[0]
        if len(prices) >= self.fast_n:
            self.fast_sum -= prices[-self.fast_n]
        prices.append(price)
        self.slow_sum += price
        self.fast_sum += price


class MomentumInstrument(InstrumentSnapshot, kw_only=True):
    prices: list[Decimal] = msgspec.field(default_factory=list)
    sign: int | None = None


class MomentumSnapshot(StrategySnapshot[MomentumInstrument], kw_only=True, tag="momentum"):
    pass


class MomentumStrategy(Strategy[MomentumParams]):
    """Trend following: buy when the fast average crosses above the slow one."""

    kind: ClassVar[str] = "momentum"
    params_type: ClassVar[type[StrategyParams]] = MomentumParams
    snapshot_type: ClassVar[type[StrategySnapshot[Any]]] = MomentumSnapshot

    def __init__(
        self, strategy_id: str, instruments: Iterable[Instrument], params: MomentumParams
    ) -> None:
        super().__init__(strategy_id, instruments, params)
        self._books = {t: _Book(params.fast_window, params.slow_window) for t in self.instruments}
        self._fast_d, self._slow_d = Decimal(params.fast_window), Decimal(params.slow_window)

    def averages(self, token: int) -> tuple[Decimal, Decimal] | None:
        """(fast SMA, slow SMA) of an instrument, once the slow window is full."""
        prices = self._books[token].prices
        fast_n, slow_n = self.params.fast_window, self.params.slow_window
        if len(prices) < slow_n:
            return None
        fast = sum(list(prices)[-fast_n:], Decimal(0))
        return fast / fast_n, sum(prices, Decimal(0)) / slow_n

    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        book = self._books[token]
        # `_Book.push`, inlined: this runs on every tick of every instrument
        prices, fast_n = book.prices, book.fast_n
        filled = len(prices)
        slow_n = prices.maxlen or 0
        if filled == slow_n:
            slow_sum = book.slow_sum = book.slow_sum - prices[0] + price
        else:
            slow_sum = book.slow_sum = book.slow_sum + price
        if filled >= fast_n:
            fast_sum = book.fast_sum = book.fast_sum - prices[-fast_n] + price
        else:
            fast_sum = book.fast_sum = book.fast_sum + price
        prices.append(price)
        if filled + 1 < slow_n:
            return None
        # the windows as Decimals, made once: a Decimal times an int converts the int
        a, b = fast_sum * self._slow_d, slow_sum * self._fast_d
        sign = 1 if a > b else -1 if a < b else 0
        previous = book.sign
        if sign == 0 or sign == previous:
            return None
        book.sign = sign
        if previous is None:
            return None
        fast, slow = fast_sum / fast_n, slow_sum / slow_n
        if sign > 0:
            return Decision(_LONG, f"SMA{fast_n} {fast:.2f} crossed above SMA{slow_n} {slow:.2f}")
        return Decision(_SHORT, f"SMA{fast_n} {fast:.2f} crossed below SMA{slow_n} {slow:.2f}")

    def _indicator_snapshot(self, token: int, position: Position) -> MomentumInstrument:
        book = self._books[token]
        return MomentumInstrument(position=position, prices=list(book.prices), sign=book.sign)

    def _indicator_restore(self, token: int, data: MomentumInstrument) -> None:
        book = _Book(self.params.fast_window, self.params.slow_window)
        for price in data.prices[-self.params.slow_window :]:
            book.push(price)
        book.sign = data.sign
        self._books[token] = book
