"""Tick validation: what must never reach a strategy, and the message that says why."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from actors.errors import InvalidTick, TickProblem
from actors.feed.validation import validate_tick
from actors.instruments import InstrumentBook
from schemas.events import Depth, DepthLevel, MarketTick

BOOK = InstrumentBook.default()
INFY = 408065


def _tick(
    price: str = "1500.05", *, bids: tuple[str, ...] = (), asks: tuple[str, ...] = ()
) -> MarketTick:
    depth = None
    if bids or asks:
        depth = Depth(
            buy=[DepthLevel(price=Decimal(p), quantity=10 if p != "0" else 0) for p in bids],
            sell=[DepthLevel(price=Decimal(p), quantity=10 if p != "0" else 0) for p in asks],
        )
    return MarketTick(instrument_token=INFY, last_price=Decimal(price), depth=depth)


def _problem(tick: MarketTick) -> InvalidTick:
    with pytest.raises(InvalidTick) as info:
        validate_tick(tick, BOOK)
    return info.value


def test_accepts_a_tick_on_the_grid_with_a_sane_book() -> None:
    validate_tick(_tick(bids=("1500.00", "1499.95"), asks=("1500.10", "1500.15")), BOOK)


@pytest.mark.parametrize("raw", ['"NaN"', '"Infinity"', '"-Infinity"', '"sNaN"'])
def test_refuses_a_non_finite_price_as_msgspec_decodes_it(raw: str) -> None:
    body = f'{{"instrument_token": {INFY}, "last_price": {raw}}}'.encode()
    tick = msgspec.json.decode(body, type=MarketTick)
    error = _problem(tick)
    assert error.reason is TickProblem.NON_FINITE_PRICE
    assert "INFY last_price" in str(error)
    assert "fix the producer" in str(error)


@pytest.mark.parametrize("price", ["0", "-1500.05"])
def test_refuses_a_price_that_is_not_positive(price: str) -> None:
    error = _problem(_tick(price))
    assert error.reason is TickProblem.NON_POSITIVE_PRICE
    assert error.instrument_token == INFY


def test_refuses_a_price_off_the_tick_grid_and_says_how_to_fix_it() -> None:
    error = _problem(_tick("1500.03"))
    assert error.reason is TickProblem.OFF_TICK_GRID
    assert "1500.03 is not a multiple of the tick size 0.05" in str(error)
    assert "round_to_tick()" in str(error)


def test_refuses_an_unknown_instrument() -> None:
    tick = MarketTick(instrument_token=12345, last_price=Decimal("10"))
    error = _problem(tick)
    assert error.reason is TickProblem.UNKNOWN_INSTRUMENT
    assert "instrument_token 12345 is not in the instrument book" in str(error)


def test_refuses_a_crossed_book() -> None:
    error = _problem(_tick(bids=("1500.10",), asks=("1500.00",)))
    assert error.reason is TickProblem.CROSSED_BOOK
    assert "best bid 1500.10 is not below best ask 1500.00" in str(error)


def test_refuses_a_locked_book() -> None:
    assert _problem(_tick(bids=("1500.05",), asks=("1500.05",))).reason is TickProblem.CROSSED_BOOK


def test_refuses_depth_levels_out_of_order() -> None:
    error = _problem(_tick(bids=("1499.95", "1500.00"), asks=("1500.10",)))
    assert error.reason is TickProblem.UNORDERED_DEPTH
    error = _problem(_tick(bids=("1500.00",), asks=("1500.15", "1500.10")))
    assert error.reason is TickProblem.UNORDERED_DEPTH


def test_refuses_a_depth_price_off_the_grid() -> None:
    error = _problem(_tick(bids=("1500.01",), asks=("1500.10",)))
    assert error.reason is TickProblem.OFF_TICK_GRID
    assert "depth.buy[0].price" in str(error)


def test_skips_the_empty_depth_slots_kite_fills_with_zeros() -> None:
    validate_tick(_tick(bids=("1500.00", "0", "0"), asks=("1500.10", "0")), BOOK)


def test_refuses_a_non_finite_ohlc_price() -> None:
    body = (
        f'{{"instrument_token": {INFY}, "last_price": "1500.05", '
        '"ohlc": {"open": "1", "high": "NaN", "low": "1", "close": "1"}}'
    ).encode()
    error = _problem(msgspec.json.decode(body, type=MarketTick))
    assert error.reason is TickProblem.NON_FINITE_PRICE
    assert "ohlc.high" in str(error)


def test_invalid_ticks_are_not_worth_retrying() -> None:
    assert InvalidTick.retriable is False


@pytest.mark.parametrize(
    ("bids", "asks", "reason"),
    [
        (("1500.00", "Infinity"), ("1500.10",), TickProblem.NON_FINITE_PRICE),
        (("1500.00",), ("NaN",), TickProblem.NON_FINITE_PRICE),
        (("1500.00", "1500.00"), ("1500.10",), TickProblem.UNORDERED_DEPTH),
        (("1500.00",), ("1500.10", "1500.05"), TickProblem.UNORDERED_DEPTH),
        (("1500.10",), ("1500.10",), TickProblem.CROSSED_BOOK),
        (("1500.03",), ("1500.10",), TickProblem.OFF_TICK_GRID),
        (("-1500.00",), ("1500.10",), TickProblem.NON_POSITIVE_PRICE),
    ],
)
def test_the_one_pass_check_of_a_full_book_still_names_every_problem(
    bids: tuple[str, ...], asks: tuple[str, ...], reason: TickProblem
) -> None:
    assert _problem(_tick(bids=bids, asks=asks)).reason is reason


def test_every_tick_of_the_mock_walk_passes_and_empty_depth_slots_are_skipped() -> None:
    from actors.feed.gbm import GbmFeed

    for _, tick in GbmFeed(list(BOOK), 3).take(500):
        validate_tick(tick, BOOK)
    validate_tick(_tick(bids=("1500.00", "0", "0"), asks=("1500.10", "0")), BOOK)
