"""Wilder's RSI, with the averages worked out by hand."""

from __future__ import annotations

import pytest

from actors.errors import ParamError
from actors.strategies.base import Position
from actors.strategies.rsi import RsiParams, RsiStrategy, rsi_of
from schemas.enums import Side
from tests.actors.strategies.support import ACME, ticks


def _strategy(**params: object) -> RsiStrategy:
    defaults: dict[str, object] = {"period": 3}
    defaults.update(params)
    return RsiStrategy("rsi", [ACME], RsiParams(**defaults))  # type: ignore[arg-type]


def test_rsi_is_a_hundred_without_losses_and_fifty_without_any_change() -> None:
    assert rsi_of(1.0, 0.0) == 100.0
    assert rsi_of(0.0, 0.0) == 50.0
    assert rsi_of(1.0, 1.0) == 50.0


def test_seeds_with_simple_averages_then_smooths_the_wilder_way() -> None:
    strategy = _strategy()
    for t in ticks(100, 102, 101, 104):
        strategy.on_tick(t, 0)
    # changes +2, -1, +3: avg gain 5/3, avg loss 1/3, RS 5, RSI = 100 - 100/6
    assert strategy.rsi(ACME.instrument_token) == pytest.approx(100 - 100 / 6)
    strategy.on_tick(ticks(103)[0], 0)
    # change -1: avg gain (5/3·2 + 0)/3 = 10/9, avg loss (1/3·2 + 1)/3 = 5/9, RS 2
    assert strategy.rsi(ACME.instrument_token) == pytest.approx(100 - 100 / 3)


def test_has_no_value_until_a_full_period_of_changes() -> None:
    strategy = _strategy()
    for t in ticks(100, 101, 102):
        strategy.on_tick(t, 0)
    assert strategy.rsi(ACME.instrument_token) is None


def test_buys_when_oversold_and_exits_when_rsi_climbs_back_to_the_exit_level() -> None:
    strategy = _strategy()
    out = [strategy.on_tick(t, i) for i, t in enumerate(ticks(100, 99, 98, 97, 99))]
    # after 97: three losses of 1, no gains: RSI 0 < 30
    assert out[:3] == [[], [], []]
    (buy,) = out[3]
    assert (buy.side, buy.reason) == (Side.BUY, "RSI3 0.0 < 30")
    # change +2: avg gain 2/3, avg loss 2/3, RSI 50 >= 50
    (sell,) = out[4]
    assert (sell.side, sell.reason) == (Side.SELL, "RSI3 50.0 >= 50")


def test_shorts_when_overbought_and_covers_when_rsi_falls_to_the_exit_level() -> None:
    strategy = _strategy(allow_short=True)
    for t in ticks(100, 102, 101):
        assert strategy.on_tick(t, 0) == []
    (short,) = strategy.on_tick(ticks(104)[0], 0)  # RSI 83.3 > 70
    assert (short.side, short.reason) == (Side.SELL, "RSI3 83.3 > 70")
    assert strategy.position(ACME.instrument_token) is Position.SHORT
    assert strategy.on_tick(ticks(103)[0], 0) == []  # RSI 66.7: still above the exit level
    # change -3: avg gain (10/9·2)/3 = 20/27, avg loss (5/9·2 + 3)/3 = 37/27, RSI 35.1 <= 50
    (cover,) = strategy.on_tick(ticks(100)[0], 0)
    assert (cover.side, cover.reason) == (Side.BUY, "RSI3 35.1 <= 50")
    assert strategy.position(ACME.instrument_token) is Position.FLAT


def test_an_overbought_reading_while_flat_is_ignored_without_shorting() -> None:
    strategy = _strategy()
    assert [strategy.on_tick(t, 0) for t in ticks(100, 102, 101, 104)] == [[]] * 4


def test_restores_its_averages_from_a_snapshot_of_the_same_period() -> None:
    first = _strategy()
    for t in ticks(100, 102, 101, 104):
        first.on_tick(t, 0)
    second = _strategy()
    second.restore(first.snapshot())
    assert second.rsi(ACME.instrument_token) == first.rsi(ACME.instrument_token)
    other_period = _strategy(period=5)
    other_period.restore(first.snapshot())
    assert other_period.rsi(ACME.instrument_token) is None  # warms up again


def test_refuses_thresholds_out_of_order() -> None:
    with pytest.raises(ParamError, match=r"exit_level: need 0 < oversold \(30.0\) < exit_level"):
        RsiParams(exit_level=80)
    with pytest.raises(ParamError, match="oversold"):
        RsiParams(oversold=75)
    with pytest.raises(ParamError, match="period: must be between 2"):
        RsiParams(period=1)
