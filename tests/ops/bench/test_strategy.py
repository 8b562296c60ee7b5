"""The bench strategy signals on exactly one tick in `every`, alternately buying and selling."""

from __future__ import annotations

import pytest

from actors.errors import ParamError
from ops.bench.strategy import BenchParams, BenchStrategy
from schemas.enums import Side
from tests.actors.strategies.support import ACME, LOTS25, tick


def test_signals_on_every_nth_tick_across_its_instruments() -> None:
    strategy = BenchStrategy("bench", [ACME, LOTS25], BenchParams(every=3))
    signals = []
    for n in range(30):
        token = (ACME, LOTS25)[n % 2].instrument_token
        signals.extend(strategy.on_tick(tick("100.00", token), n))
    assert len(signals) == 30 // 3
    assert [s.tick_ts for s in signals] == [2, 5, 8, 11, 14, 17, 20, 23, 26, 29]


def test_each_instrument_alternates_between_buying_and_selling_one_size() -> None:
    strategy = BenchStrategy("bench", [ACME], BenchParams(every=1, lots=2))
    sides = [s.side for n in range(4) for s in strategy.on_tick(tick("100.00"), n)]
    assert sides == [Side.BUY, Side.SELL, Side.BUY, Side.SELL]
    assert {s.quantity for n in range(2) for s in strategy.on_tick(tick("100.00"), n)} == {2}


def test_a_restored_strategy_keeps_counting_where_it_stopped() -> None:
    first = BenchStrategy("bench", [ACME], BenchParams(every=4))
    for n in range(6):
        first.on_tick(tick("100.00"), n)
    second = BenchStrategy("bench", [ACME], BenchParams(every=4))
    second.restore(first.snapshot())
    assert [len(second.on_tick(tick("100.00"), n)) for n in range(6, 8)] == [0, 1]


def test_refuses_an_every_below_one() -> None:
    with pytest.raises(ParamError, match="every"):
        BenchParams(every=0)
