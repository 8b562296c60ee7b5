"""A strategy for benchmarks: it signals on a known fraction of the ticks it sees.

Every `every`-th tick it receives (one counter across its instruments, in stream order)
flips that tick's instrument between FLAT and LONG, so it emits exactly
`ticks // every` signals, alternately buying and selling one size. A benchmark can then
count the signals, validations and fills that must come out of a run and call any
shortfall a loss. It trades nothing real, so it ships with the benchmarks, not with the
strategies: importing this module registers `type: bench` (unlisted) for the bench's runs.
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
from actors.strategies.registry import register_strategy_type

__all__ = ["BenchParams", "BenchStrategy"]


class BenchParams(StrategyParams, frozen=True, kw_only=True):
    """`every`: signal on one tick in `every` (1 = every tick)."""

    every: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.every < 1:
            raise ParamError("every", f"must be at least 1, got {self.every}", "use e.g. 20")


class BenchSnapshot(StrategySnapshot[InstrumentSnapshot], kw_only=True, tag="bench"):
    seen: int = 0  # ticks received, across its instruments


class BenchStrategy(Strategy[BenchParams]):
    """Flips FLAT ↔ LONG on every `every`-th tick: a signal rate fixed by the tick rate."""

    kind: ClassVar[str] = "bench"
    params_type: ClassVar[type[StrategyParams]] = BenchParams
    snapshot_type: ClassVar[type[StrategySnapshot[Any]]] = BenchSnapshot

    def __init__(
        self, strategy_id: str, instruments: Iterable[Instrument], params: BenchParams
    ) -> None:
        super().__init__(strategy_id, instruments, params)
        self._every = params.every
        self.seen = 0

    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        self.seen += 1
        if self.seen % self._every:
            return None
        target = Position.FLAT if position is Position.LONG else Position.LONG
        return Decision(target, f"bench tick {self.seen}")

    def snapshot(self) -> BenchSnapshot:
        base = super().snapshot()
        return BenchSnapshot(strategy_id=base.strategy_id, instruments=base.instruments,
                             seen=self.seen)  # fmt: skip

    def restore(self, snapshot: StrategySnapshot[Any]) -> None:
        super().restore(snapshot)
        assert isinstance(snapshot, BenchSnapshot)  # checked by the base
        self.seen = snapshot.seen

    def _indicator_snapshot(self, token: int, position: Position) -> InstrumentSnapshot:
        return InstrumentSnapshot(position=position)

    def _indicator_restore(self, token: int, data: InstrumentSnapshot) -> None:
        return None


register_strategy_type(BenchStrategy, listed=False)
