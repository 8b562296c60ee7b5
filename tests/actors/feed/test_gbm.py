"""The mock feed: GBM on the tick grid, deterministic and resumable."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.feed.gbm import DEFAULT_START_NS, FeedState, GbmFeed
from actors.feed.validation import validate_tick
from actors.instruments import Instrument, InstrumentBook, on_tick_grid
from schemas.events import MarketTick

BOOK = InstrumentBook.default()
THREE = [i for i in BOOK if i.tradingsymbol in ("RELIANCE", "INFY", "TATASTEEL")]


def _ticks(feed: GbmFeed, count: int) -> list[MarketTick]:
    return [tick for _, tick in feed.take(count)]


def test_the_same_seed_produces_the_same_ticks() -> None:
    assert _ticks(GbmFeed(BOOK, 42), 300) == _ticks(GbmFeed(BOOK, 42), 300)


def test_different_seeds_produce_different_prices() -> None:
    a = [t.last_price for t in _ticks(GbmFeed(BOOK, 1), 200)]
    b = [t.last_price for t in _ticks(GbmFeed(BOOK, 2), 200)]
    assert a != b


def test_a_feed_resumed_from_its_saved_state_continues_exactly_like_an_uninterrupted_one() -> None:
    uninterrupted = _ticks(GbmFeed(BOOK, 42), 1000)

    first = GbmFeed(BOOK, 42)
    head = _ticks(first, 437)
    saved = msgspec.json.encode(first.state())  # as the actor would persist it
    resumed = GbmFeed.resume(BOOK, 42, msgspec.json.decode(saved, type=FeedState))

    assert resumed.next_index == 437
    assert head + _ticks(resumed, 563) == uninterrupted


def test_a_feed_resumed_from_the_last_tick_of_each_instrument_continues_exactly() -> None:
    uninterrupted = _ticks(GbmFeed(BOOK, 9), 700)
    last_ticks = {t.instrument_token: t for t in uninterrupted[:400]}
    # the ticks come back from the MARKET stream as JSON, Decimals as strings
    decoded = {
        token: msgspec.json.decode(msgspec.json.encode(tick), type=MarketTick)
        for token, tick in last_ticks.items()
    }
    resumed = GbmFeed.resume_from_ticks(BOOK, 9, 400, decoded)
    assert _ticks(resumed, 300) == uninterrupted[400:]


def test_tick_i_does_not_depend_on_the_timestamp_it_is_stamped_with() -> None:
    a, b = GbmFeed(THREE, 5), GbmFeed(THREE, 5)
    for i in range(50):
        ta, tb = a.next_tick(1_000 + i), b.next_tick(9_999_999 + 7 * i)
        assert ta.last_price == tb.last_price
        assert ta.depth == tb.depth
        assert tb.exchange_timestamp_ns == 9_999_999 + 7 * i


def test_chooses_instruments_round_robin_in_the_order_given() -> None:
    tokens = [t.instrument_token for t in _ticks(GbmFeed(THREE, 1), 7)]
    order = [i.instrument_token for i in THREE]
    assert tokens == order * 2 + order[:1]


def test_stamps_ticks_with_start_plus_index_times_the_interval_by_default() -> None:
    feed = GbmFeed(THREE, 1, tick_interval_s=0.25, start_ns=1_000)
    assert [ts for ts, _ in feed.take(3)] == [1_000, 250_001_000, 500_001_000]
    assert feed.next_tick().exchange_timestamp_ns == 750_001_000
    assert GbmFeed(THREE, 1).timestamp_ns(0) == DEFAULT_START_NS


def test_every_tick_passes_validation_and_carries_kite_full_mode_fields() -> None:
    for tick in _ticks(GbmFeed(BOOK, 3), 2000):
        validate_tick(tick, BOOK)
        inst = BOOK.get(tick.instrument_token)
        assert inst is not None
        assert tick.symbol == inst.tradingsymbol
        assert tick.mode == "full"
        assert tick.last_traded_quantity >= inst.lot_size
        assert tick.average_traded_price is not None
        assert tick.total_buy_quantity > 0
        assert tick.total_sell_quantity > 0


def test_the_book_has_five_levels_around_the_last_price_with_bid_below_ask() -> None:
    for tick in _ticks(GbmFeed(BOOK, 11), 1000):
        assert tick.depth is not None
        bids, asks = tick.depth.buy, tick.depth.sell
        assert len(bids) == len(asks) == 5
        tick_size = Decimal("0.05")
        assert asks[0].price - bids[0].price >= tick_size
        assert bids[0].price <= tick.last_price <= asks[0].price
        assert all(a.price > b.price for a, b in pairwise(bids))
        assert all(a.price < b.price for a, b in pairwise(asks))
        assert all(level.quantity > 0 and level.orders > 0 for level in bids + asks)


def test_volume_accumulates_and_the_day_ohlc_brackets_every_price() -> None:
    feed = GbmFeed(THREE, 4)
    volume: dict[int, int] = {}
    seen: dict[int, list[Decimal]] = {}
    for tick in _ticks(feed, 600):
        token = tick.instrument_token
        volume[token] = volume.get(token, 0) + tick.last_traded_quantity
        seen.setdefault(token, []).append(tick.last_price)
        assert tick.volume_traded == volume[token]
        assert tick.ohlc is not None
        assert tick.ohlc.open == seen[token][0]
        assert tick.ohlc.high == max(seen[token])
        assert tick.ohlc.low == min(seen[token])
        base = BOOK.get(token)
        assert base is not None
        assert tick.ohlc.close == base.base_price  # the previous close, as Kite sends it


def test_prices_move_even_when_a_step_is_smaller_than_a_tick() -> None:
    calm = Instrument(
        instrument_token=1281,
        tradingsymbol="CALM",
        exchange="NSE",
        tick_size=Decimal("0.05"),
        lot_size=1,
        base_price=Decimal("100.00"),
        annual_volatility=0.01,
    )
    prices = {t.last_price for t in _ticks(GbmFeed([calm], 1, time_scale=1.0), 2000)}
    assert len(prices) > 1  # stochastic rounding lets sub-tick moves accumulate


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=-(2**63), max_value=2**63),
    base_ticks=st.integers(min_value=1, max_value=400_000),
    volatility=st.floats(min_value=0.0, max_value=5.0),
    lot_size=st.integers(min_value=1, max_value=1800),
)
def test_prices_are_always_positive_and_on_the_tick_grid(
    seed: int, base_ticks: int, volatility: float, lot_size: int
) -> None:
    tick_size = Decimal("0.05")
    inst = Instrument(
        instrument_token=256265,
        tradingsymbol="ANY",
        exchange="NSE",
        tick_size=tick_size,
        lot_size=lot_size,
        base_price=tick_size * base_ticks,
        annual_volatility=volatility,
    )
    book = InstrumentBook([inst])
    for tick in _ticks(GbmFeed(book, seed, time_scale=50_000.0), 60):
        assert tick.last_price > 0
        assert on_tick_grid(tick.last_price, tick_size)
        assert tick.last_traded_quantity % lot_size == 0
        validate_tick(tick, book)


def test_the_state_is_small_and_json_serialisable() -> None:
    feed = GbmFeed(BOOK, 42)
    feed.take(100)
    raw = msgspec.json.encode(feed.state())
    assert len(raw) < 4096
    assert msgspec.json.decode(raw, type=FeedState) == feed.state()


def test_refuses_an_empty_or_repeated_instrument_list() -> None:
    with pytest.raises(ValueError, match="at least one instrument"):
        GbmFeed([], 1)
    with pytest.raises(ValueError, match="same instrument twice"):
        GbmFeed([THREE[0], THREE[0]], 1)
