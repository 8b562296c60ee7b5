"""Z-score mean reversion, with z worked out by hand."""

from __future__ import annotations

import math

import pytest

from actors.errors import ParamError
from actors.strategies.base import Position
from actors.strategies.mean_reversion import MeanReversionParams, MeanReversionStrategy, zscore
from schemas.enums import Side
from tests.actors.strategies.support import ACME, ticks

# window 4 over 100, 100, 100, 94: mean 98.5, deviations 1.5, 1.5, 1.5, -4.5,
# population variance (3·2.25 + 20.25)/4 = 6.75, so z = -4.5/√6.75 = -1.732
Z_LOW = -4.5 / math.sqrt(6.75)


def _strategy(**params: object) -> MeanReversionStrategy:
    defaults: dict[str, object] = {"window": 4, "entry_z": 1.5, "exit_z": 0.5}
    defaults.update(params)
    return MeanReversionStrategy("mr", [ACME], MeanReversionParams(**defaults))  # type: ignore[arg-type]


def test_computes_the_z_score_of_the_last_price_against_the_window() -> None:
    from decimal import Decimal

    assert zscore([Decimal(p) for p in (100, 100, 100, 94)]) == pytest.approx(Z_LOW)
    assert zscore([Decimal(5)] * 4) is None


def test_buys_when_the_price_is_stretched_below_its_mean() -> None:
    strategy = _strategy()
    out = [strategy.on_tick(t, i) for i, t in enumerate(ticks(100, 100, 100, 94))]
    assert out[:3] == [[], [], []]
    (buy,) = out[3]
    assert buy.side is Side.BUY
    assert buy.reason == f"z {Z_LOW:.2f} <= -1.5"


def test_exits_the_long_once_the_price_is_back_near_the_mean() -> None:
    strategy = _strategy()
    out = [strategy.on_tick(t, i) for i, t in enumerate(ticks(100, 100, 100, 94, 100))]
    # window 100, 100, 94, 100: mean 98.5, z of 100 = 1.5/√6.75 = 0.577 >= -0.5
    (sell,) = out[4]
    assert sell.side is Side.SELL
    assert sell.reason == f"z {1.5 / math.sqrt(6.75):.2f} back above -0.5"
    assert strategy.position(ACME.instrument_token) is Position.FLAT


def test_goes_short_above_the_mean_only_when_shorting_is_allowed() -> None:
    prices = (100, 100, 100, 106)
    assert [_strategy().on_tick(t, 0) for t in ticks(*prices)] == [[]] * 4
    strategy = _strategy(allow_short=True)
    (sell,) = [strategy.on_tick(t, 0) for t in ticks(*prices)][3]
    assert sell.side is Side.SELL
    assert strategy.position(ACME.instrument_token) is Position.SHORT


def test_holds_while_the_window_has_no_variance() -> None:
    strategy = _strategy()
    assert [strategy.on_tick(t, 0) for t in ticks(100, 100, 100, 100, 100)] == [[]] * 5


def test_restores_its_window_from_a_snapshot() -> None:
    first = _strategy()
    for t in ticks(100, 100, 100):
        first.on_tick(t, 0)
    second = _strategy()
    second.restore(first.snapshot())
    (buy,) = second.on_tick(ticks(94)[0], 0)
    assert buy.side is Side.BUY


def test_refuses_an_entry_z_the_window_can_never_reach() -> None:
    with pytest.raises(
        ParamError, match=r"entry_z: 2.0 can never be reached with window 4"
    ) as info:
        MeanReversionParams(window=4, entry_z=2.0, exit_z=0.5)
    assert info.value.fix == "lower entry_z or widen the window"


def test_refuses_an_exit_z_not_inside_the_entry_z() -> None:
    with pytest.raises(ParamError, match="exit_z: must be >= 0 and below entry_z"):
        MeanReversionParams(entry_z=1.0, exit_z=1.0)
