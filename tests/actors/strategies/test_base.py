"""What every strategy's signals look like: prices, sizes, touch, limit orders, restore."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.errors import ParamError
from actors.instruments import on_tick_grid
from actors.strategies.base import Position
from actors.strategies.momentum import MomentumInstrument, MomentumParams, MomentumStrategy
from actors.strategies.rsi import RsiParams, RsiStrategy
from schemas.enums import OrderType, Side
from schemas.events import Depth, DepthLevel, MarketTick, TradingSignal
from tests.actors.strategies.support import ACME, tick, ticks

WARMUP = (100, 99, 98, 97, 100)  # the next tick at 102 crosses SMA2 above SMA4


def _crossing_buy(last: MarketTick, **params: object) -> TradingSignal:
    defaults: dict[str, object] = {"fast_window": 2, "slow_window": 4}
    defaults.update(params)
    strategy = MomentumStrategy("mom-1", [ACME], MomentumParams(**defaults))  # type: ignore[arg-type]
    for t in ticks(*WARMUP):
        assert strategy.on_tick(t, 0) == []
    (signal,) = strategy.on_tick(last, ts_ns=1_704_080_700_123_000_000)
    return signal


def test_a_signal_carries_the_reference_price_tick_time_and_the_touch() -> None:
    signal = _crossing_buy(tick("102", bid="101.95", ask="102.05"))
    assert signal.strategy_id == "mom-1"
    assert signal.instrument_token == ACME.instrument_token
    assert signal.symbol == "ACME"
    assert signal.reference_price == Decimal("102")
    assert signal.tick_ts == 1_704_080_700_123_000_000
    assert (signal.bid, signal.ask) == (Decimal("101.95"), Decimal("102.05"))
    assert (signal.order_type, signal.limit_price) == (OrderType.MARKET, None)


def test_the_touch_is_absent_without_depth_and_skips_empty_slots() -> None:
    assert _crossing_buy(tick("102")).bid is None
    empty_first = MarketTick(
        instrument_token=ACME.instrument_token,
        last_price=Decimal("102"),
        depth=Depth(
            buy=[
                DepthLevel(price=Decimal(0), quantity=0),
                DepthLevel(price=Decimal("101.9"), quantity=5),
            ],
            sell=[],
        ),
    )
    signal = _crossing_buy(empty_first)
    assert (signal.bid, signal.ask) == (Decimal("101.9"), None)


def test_a_limit_buy_is_priced_the_offset_in_ticks_through_the_last_price() -> None:
    signal = _crossing_buy(tick("102"), order_type=OrderType.LIMIT, limit_offset_ticks=2)
    assert signal.order_type is OrderType.LIMIT
    assert signal.limit_price == Decimal("102.10")


def test_a_limit_sell_is_priced_below_the_last_price() -> None:
    strategy = MomentumStrategy(
        "mom",
        [ACME],
        MomentumParams(
            fast_window=2, slow_window=4, order_type=OrderType.LIMIT, limit_offset_ticks=2
        ),
    )
    out = [strategy.on_tick(t, 0) for t in ticks(100, 99, 98, 97, 100, 102, 96, 90)]
    (sell,) = out[7]
    assert (sell.side, sell.limit_price) == (Side.SELL, Decimal("89.90"))


def test_ignores_a_tick_with_a_non_finite_or_non_positive_price() -> None:
    strategy = RsiStrategy("rsi", [ACME], RsiParams(period=2))
    for price in ("NaN", "Infinity", "0", "-5"):
        assert strategy.on_tick(tick(price), 0) == []
    assert strategy.snapshot().instruments[1001].last is None


def test_restore_refuses_a_snapshot_of_another_strategy_type() -> None:
    snapshot = RsiStrategy("rsi", [ACME], RsiParams()).snapshot()
    with pytest.raises(ValueError, match="snapshot of a 'rsi' strategy cannot restore 'mom'"):
        MomentumStrategy("mom", [ACME], MomentumParams()).restore(snapshot)


def test_restore_ignores_instruments_the_strategy_no_longer_trades() -> None:
    snapshot = MomentumStrategy("mom", [ACME], MomentumParams()).snapshot()
    snapshot.instruments[424242] = MomentumInstrument(position=Position.LONG, prices=[], sign=None)
    MomentumStrategy("mom", [ACME], MomentumParams()).restore(snapshot)


def test_refuses_a_limit_offset_beyond_a_hundred_ticks() -> None:
    with pytest.raises(ParamError, match="limit_offset_ticks"):
        MomentumParams(order_type=OrderType.LIMIT, limit_offset_ticks=101)


def test_refuses_params_of_another_strategy_type() -> None:
    with pytest.raises(TypeError, match="needs MomentumParams"):
        MomentumStrategy("mom", [ACME], RsiParams())  # type: ignore[arg-type]


@given(
    base_ticks=st.integers(min_value=1, max_value=2_000_000),
    offset=st.integers(min_value=-100, max_value=100),
)
def test_limit_prices_are_always_positive_and_on_the_tick_grid(
    base_ticks: int, offset: int
) -> None:
    strategy = MomentumStrategy(
        "mom",
        [ACME],
        MomentumParams(
            fast_window=2, slow_window=4, order_type=OrderType.LIMIT, limit_offset_ticks=offset
        ),
    )
    # falling for a full window, then a jump: SMA2 crosses above SMA4 on the last tick
    prices = [str(ACME.tick_size * (base_ticks + k)) for k in (4, 3, 2, 1, 5)]
    (signal,) = [s for t in ticks(*prices) for s in strategy.on_tick(t, 0)]
    assert signal.limit_price is not None
    assert signal.limit_price > 0
    assert on_tick_grid(signal.limit_price, ACME.tick_size)
