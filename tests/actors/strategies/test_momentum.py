"""Moving-average crossover momentum, with the averages worked out by hand."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import msgspec
import pytest

from actors.errors import ParamError
from actors.strategies.base import Position
from actors.strategies.momentum import MomentumParams, MomentumSnapshot, MomentumStrategy
from schemas.enums import Side
from schemas.events import TradingSignal
from tests.actors.strategies.support import ACME, LOTS25, tick, ticks


def _run(strategy: MomentumStrategy, prices: list[int]) -> list[list[TradingSignal]]:
    return [strategy.on_tick(t, ts_ns=i) for i, t in enumerate(ticks(*prices))]


def _momentum(**params: object) -> MomentumStrategy:
    defaults: dict[str, object] = {"fast_window": 2, "slow_window": 4}
    defaults.update(params)
    return MomentumStrategy("mom", [ACME], MomentumParams(**defaults))  # type: ignore[arg-type]


# SMA2 and SMA4 over 100, 99, 98, 97, 100, 102, 96, 90:
#   after 97:  SMA2 = (98+97)/2 = 97.5   SMA4 = (100+99+98+97)/4 = 98.5   fast below
#   after 100: SMA2 = (97+100)/2 = 98.5  SMA4 = (99+98+97+100)/4 = 98.5   equal: no cross
#   after 102: SMA2 = (100+102)/2 = 101  SMA4 = (98+97+100+102)/4 = 99.25 fast above: BUY
#   after 96:  SMA2 = 99                 SMA4 = (97+100+102+96)/4 = 98.75 still above
#   after 90:  SMA2 = 93                 SMA4 = (100+102+96+90)/4 = 97    fast below: SELL
PRICES = [100, 99, 98, 97, 100, 102, 96, 90]


def test_emits_a_buy_when_the_fast_average_crosses_above_the_slow() -> None:
    out = _run(_momentum(), PRICES)
    assert [len(s) for s in out] == [0, 0, 0, 0, 0, 1, 0, 1]
    buy = out[5][0]
    assert buy.side is Side.BUY
    assert buy.quantity == 1
    assert buy.reference_price == Decimal(102)
    assert buy.reason == "SMA2 101.00 crossed above SMA4 99.25"


def test_sells_to_go_flat_when_the_fast_average_crosses_below_and_shorting_is_off() -> None:
    strategy = _momentum()
    sell = _run(strategy, PRICES)[7][0]
    assert sell.side is Side.SELL
    assert sell.quantity == 1
    assert sell.reason == "SMA2 93.00 crossed below SMA4 97.00"
    assert strategy.position(ACME.instrument_token) is Position.FLAT


def test_reverses_to_short_with_twice_the_size_when_shorting_is_allowed() -> None:
    strategy = _momentum(allow_short=True, lots=3)
    sell = _run(strategy, PRICES)[7][0]
    assert (sell.side, sell.quantity) == (Side.SELL, 6)  # 3 lots out of the long, 3 lots short
    assert strategy.position(ACME.instrument_token) is Position.SHORT


def test_does_not_trade_on_the_first_full_window_only_on_a_crossing() -> None:
    strategy = _momentum()
    assert _run(strategy, [100, 101, 102, 103, 104]) == [[]] * 5  # fast above from the start
    assert strategy.averages(ACME.instrument_token) == (Decimal("103.5"), Decimal("102.5"))


def test_a_falling_cross_while_flat_without_shorting_emits_nothing() -> None:
    assert _run(_momentum(), [100, 101, 102, 103, 90]) == [[]] * 5


def test_sizes_orders_in_lots_of_the_instruments_lot_size() -> None:
    strategy = MomentumStrategy(
        "mom", [LOTS25], MomentumParams(fast_window=2, slow_window=4, lots=2)
    )
    signals = [strategy.on_tick(t, 0) for t in ticks(*PRICES, token=LOTS25.instrument_token)]
    assert signals[5][0].quantity == 50


def test_ignores_ticks_of_instruments_it_does_not_trade() -> None:
    strategy = _momentum()
    assert strategy.on_tick(tick(100, token=LOTS25.instrument_token), 0) == []
    assert strategy.instruments == (ACME.instrument_token,)


def test_resumes_from_a_json_snapshot_exactly_where_it_left_off() -> None:
    prices = [100, 99, 98, 97, 100, 102, 96, 90, 95, 99, 104, 101, 97, 93]
    uninterrupted = _run(_momentum(allow_short=True), prices)

    first = _momentum(allow_short=True)
    head = _run(first, prices[:6])
    raw = msgspec.json.encode(first.snapshot())
    snapshot = json.loads(raw)  # what the state bucket holds
    second = _momentum(allow_short=True)
    second.restore(msgspec.json.decode(raw, type=MomentumSnapshot))
    tail = [second.on_tick(t, ts_ns=6 + i) for i, t in enumerate(ticks(*prices[6:]))]

    assert head + tail == uninterrupted
    assert snapshot["instruments"]["1001"]["position"] == "LONG"
    assert snapshot["instruments"]["1001"]["prices"] == ["98", "97", "100", "102"]


def test_refuses_a_fast_window_that_is_not_shorter_than_the_slow_one() -> None:
    with pytest.raises(ParamError, match="slow_window: must be greater than fast_window") as info:
        MomentumParams(fast_window=10, slow_window=10)
    assert info.value.field == "slow_window"
    assert "e.g. 40" in info.value.fix


def test_refuses_a_zero_fast_window_and_zero_lots() -> None:
    with pytest.raises(ParamError, match="fast_window"):
        MomentumParams(fast_window=0)
    with pytest.raises(ParamError, match="lots: must be at least 1"):
        MomentumParams(lots=0)


def test_the_running_sums_equal_the_windows_recomputed_on_every_tick() -> None:
    rng = random.Random(5)
    strategy = _momentum(fast_window=3, slow_window=7)
    price = 1000
    for i in range(500):
        price = max(1, price + rng.choice((-2, -1, 0, 1, 2)))
        strategy.on_tick(tick(price), ts_ns=i)
        book = strategy._books[ACME.instrument_token]
        window = list(book.prices)
        assert book.slow_sum == sum(window, Decimal(0))
        assert book.fast_sum == sum(window[-3:], Decimal(0))
