"""The `Strategy` base: state in, signals out; no I/O, no clock, no global randomness.

A subclass keeps its indicator state per instrument and answers one question per tick:
which position (`FLAT`, `LONG`, `SHORT`) it wants now (`_decide`). The base turns a change
of the wanted position into one `TradingSignal` (entry, exit or reversal), sized in lots,
as a MARKET or a LIMIT order on the tick grid. The position is the strategy's *intended*
one: it assumes its signals are filled (the risk manager and the broker decide that).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

import msgspec

from actors.errors import ParamError
from actors.instruments import Instrument, round_to_tick
from schemas.enums import OrderType, Side
from schemas.events import DepthLevel, MarketTick, TradingSignal

__all__ = [
    "Position",
    "InstrumentSnapshot",
    "StrategySnapshot",
    "Decision",
    "StrategyParams",
    "Strategy",
    "SNAPSHOT_VERSION",
]

SNAPSHOT_VERSION = 1
MAX_LIMIT_OFFSET_TICKS = 100


class Position(StrEnum):
    FLAT = "FLAT"
    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        return _SIGNS[self]


# module aliases of enum members: `Position.FLAT` is a slow class attribute lookup on
# Python 3.11 (about 70 ns), and `on_tick` runs for every tick of every strategy
_FLAT, _SHORT = Position.FLAT, Position.SHORT
_SIGNS = {Position.FLAT: 0, Position.LONG: 1, Position.SHORT: -1}
_BUY, _SELL = Side.BUY, Side.SELL
_LIMIT = OrderType.LIMIT
_ZERO = Decimal(0)


class InstrumentSnapshot(msgspec.Struct, kw_only=True):
    """What every strategy keeps of an instrument: the position it intends to hold.
    A strategy kind subclasses it with its indicator state."""

    position: Position = Position.FLAT


InstrumentT = TypeVar("InstrumentT", bound=InstrumentSnapshot)


class StrategySnapshot(msgspec.Struct, Generic[InstrumentT], kw_only=True, tag_field="kind"):
    """A strategy's state for `restore` after a restart; the tag is the strategy's kind,
    so a map of snapshots of several kinds decodes each as its own type."""

    strategy_id: str
    version: int = SNAPSHOT_VERSION
    instruments: dict[int, InstrumentT] = msgspec.field(default_factory=dict)


class Decision(NamedTuple):
    """The position a strategy wants after a tick, and why (goes into the signal)."""

    target: Position
    reason: str


class StrategyParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters every strategy has. Subclasses add theirs and extend `__post_init__`.

    - `lots`: order size in lots (quantity = lots * the instrument's lot size)
    - `allow_short`: a bearish signal goes short (True) or only exits a long (False)
    - `order_type`: MARKET, or LIMIT at last price ± `limit_offset_ticks` ticks
      (positive: willing to pay through the last price, negative: passive)
    """

    lots: int = 1
    allow_short: bool = False
    order_type: OrderType = OrderType.MARKET
    limit_offset_ticks: int = 0

    def __post_init__(self) -> None:
        if self.lots < 1:
            raise ParamError("lots", f"must be at least 1, got {self.lots}", "set lots: 1 or more")
        if abs(self.limit_offset_ticks) > MAX_LIMIT_OFFSET_TICKS:
            raise ParamError(
                "limit_offset_ticks",
                f"{self.limit_offset_ticks} is beyond ±{MAX_LIMIT_OFFSET_TICKS} ticks",
                "use a small offset such as 1 or 2",
            )


P = TypeVar("P", bound=StrategyParams)


class Strategy(ABC, Generic[P]):
    """A trading strategy over a fixed set of instruments.

    Subclasses set `kind` (the config `type`), `params_type` and `snapshot_type` (tagged
    with the kind), and implement `_decide`, `_indicator_snapshot` and `_indicator_restore`.
    """

    kind: ClassVar[str]
    params_type: ClassVar[type[StrategyParams]]
    snapshot_type: ClassVar[type[StrategySnapshot[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__ and cls.snapshot_type.__struct_config__.tag != cls.kind:
            raise TypeError(f"{cls.__name__}.snapshot_type must be tagged {cls.kind!r}")

    def __init__(self, strategy_id: str, instruments: Iterable[Instrument], params: P) -> None:
        if not isinstance(params, self.params_type):
            raise TypeError(f"{type(self).__name__} needs {self.params_type.__name__} params")
        self.strategy_id = strategy_id
        self.params = params
        self._instruments = {i.instrument_token: i for i in instruments}
        if not self._instruments:
            raise ValueError(f"strategy {strategy_id!r} needs at least one instrument")
        self._positions: dict[int, Position] = {}

    @property
    def instruments(self) -> tuple[int, ...]:
        """The instrument tokens this strategy trades (and wants ticks for)."""
        return tuple(self._instruments)

    def position(self, token: int) -> Position:
        return self._positions.get(token, Position.FLAT)

    def on_tick(self, tick: MarketTick, ts_ns: int) -> list[TradingSignal]:
        """Update on one tick; return the signals it causes (usually none)."""
        token = tick.instrument_token
        inst = self._instruments.get(token)
        price = tick.last_price
        if inst is None or not price.is_finite() or price <= _ZERO:
            return []
        current = self._positions.get(token, _FLAT)
        decision = self._decide(token, price, current)
        if decision is None:
            return []
        target = decision.target
        if target is _SHORT and not self.params.allow_short:
            target = _FLAT
        if target is current:
            return []
        self._positions[inst.instrument_token] = target
        delta = (_SIGNS[target] - _SIGNS[current]) * self.params.lots * inst.lot_size
        side = _BUY if delta > 0 else _SELL
        return [self._signal(inst, tick, side, abs(delta), decision.reason, ts_ns)]

    def snapshot(self) -> StrategySnapshot[Any]:
        """The state for `restore` after a restart (a `snapshot_type`)."""
        return self.snapshot_type(
            strategy_id=self.strategy_id,
            instruments={
                token: self._indicator_snapshot(token, self.position(token))
                for token in self._instruments
            },
        )

    def restore(self, snapshot: StrategySnapshot[Any]) -> None:
        """Load a `snapshot()`; instruments no longer traded are ignored."""
        if not isinstance(snapshot, self.snapshot_type):
            raise ValueError(
                f"snapshot of a {snapshot.__struct_config__.tag!r} strategy cannot restore "
                f"{self.strategy_id!r} ({self.kind}); discard it and let the strategy warm up"
            )
        if snapshot.version != SNAPSHOT_VERSION:
            raise ValueError(
                f"snapshot version {snapshot.version!r} is not {SNAPSHOT_VERSION}; "
                "discard it and let the strategy warm up"
            )
        for token, data in snapshot.instruments.items():
            if token not in self._instruments:
                continue
            self._positions[token] = data.position
            self._indicator_restore(token, data)

    @abstractmethod
    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        """Fold `price` into the indicators; return the wanted position, or None to hold."""

    @abstractmethod
    def _indicator_snapshot(self, token: int, position: Position) -> InstrumentSnapshot:
        """One instrument's position and indicator state, as this kind's instrument Struct."""

    @abstractmethod
    def _indicator_restore(self, token: int, data: Any) -> None:
        """Load what `_indicator_snapshot` produced (this kind's instrument Struct)."""

    def _signal(
        self, inst: Instrument, tick: MarketTick, side: Side, qty: int, reason: str, ts_ns: int
    ) -> TradingSignal:
        limit = None
        if self.params.order_type is _LIMIT:
            offset = side.sign * self.params.limit_offset_ticks * inst.tick_size
            limit = max(round_to_tick(tick.last_price + offset, inst.tick_size), inst.tick_size)
        depth = tick.depth
        return TradingSignal(
            strategy_id=self.strategy_id,
            instrument_token=inst.instrument_token,
            side=side,
            quantity=qty,
            reference_price=tick.last_price,
            symbol=tick.symbol or inst.tradingsymbol,
            order_type=self.params.order_type,
            limit_price=limit,
            reason=reason,
            tick_ts=ts_ns,
            bid=_best(depth.buy) if depth else None,
            ask=_best(depth.sell) if depth else None,
        )


def _best(levels: list[DepthLevel]) -> Decimal | None:
    """The first non-empty level's price (Kite zeroes empty slots)."""
    for level in levels:
        if level.price.is_finite() and level.price > 0:
            return level.price
    return None
