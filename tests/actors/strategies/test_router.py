"""The router: one dict lookup per tick, and a raising strategy isolated from the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actors.strategies.base import Decision, Position
from actors.strategies.momentum import MomentumParams, MomentumStrategy
from actors.strategies.router import StrategyRouter
from tests.actors.strategies.support import ACME, LOTS25, tick


class AlwaysLong(MomentumStrategy):
    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        return Decision(Position.LONG, "always")


class Broken(MomentumStrategy):
    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        raise RuntimeError("indicator bug")


class CountingInstruments(AlwaysLong):
    reads = 0

    @property
    def instruments(self) -> tuple[int, ...]:
        type(self).reads += 1
        return tuple(self._instruments)


def _make(cls: type[MomentumStrategy], sid: str, *instruments: Any) -> MomentumStrategy:
    return cls(sid, instruments or [ACME], MomentumParams())


def test_sends_a_tick_only_to_the_strategies_trading_its_instrument() -> None:
    acme, both = _make(AlwaysLong, "acme"), _make(AlwaysLong, "both", ACME, LOTS25)
    router = StrategyRouter([acme, both])
    assert router.for_token(ACME.instrument_token) == (acme, both)
    assert router.for_token(LOTS25.instrument_token) == (both,)
    assert router.for_token(424242) == ()
    assert router.tokens == {ACME.instrument_token, LOTS25.instrument_token}
    result = router.on_tick(tick("50", token=LOTS25.instrument_token), 7)
    assert [(s.strategy_id, s.quantity, s.tick_ts) for s in result.signals] == [("both", 25, 7)]


def test_looks_strategies_up_by_token_without_scanning_them() -> None:
    strategies = [_make(CountingInstruments, f"s{n}") for n in range(200)]
    router = StrategyRouter(strategies)
    reads_after_building = CountingInstruments.reads
    for _ in range(100):
        router.for_token(ACME.instrument_token)
        router.on_tick(tick("10", token=424242), 0)
    assert CountingInstruments.reads == reads_after_building


def test_a_raising_strategy_is_reported_and_the_others_still_trade() -> None:
    before, broken, after = (
        _make(AlwaysLong, "before"),
        _make(Broken, "broken"),
        _make(AlwaysLong, "after"),
    )
    result = StrategyRouter([before, broken, after]).on_tick(tick("100"), 1)
    assert [s.strategy_id for s in result.signals] == ["before", "after"]
    ((sid, error),) = result.errors
    assert sid == "broken"
    assert isinstance(error, RuntimeError)
    assert str(error) == "indicator bug"


def test_finds_a_strategy_by_id() -> None:
    strategy = _make(AlwaysLong, "a")
    router = StrategyRouter([strategy])
    assert router.get("a") is strategy
    assert router.get("b") is None
    assert router.strategies == (strategy,)


def test_refuses_two_strategies_with_one_id() -> None:
    with pytest.raises(ValueError, match="two strategies share the id 'a'"):
        StrategyRouter([_make(AlwaysLong, "a"), _make(AlwaysLong, "a")])
