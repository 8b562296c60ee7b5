"""The instrument master: real Kite tokens, lookups, tick-grid arithmetic, CSV errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.errors import InstrumentError
from actors.instruments import CSV_COLUMNS, Instrument, InstrumentBook, on_tick_grid, round_to_tick

TICK = Decimal("0.05")
HEADER = ",".join(CSV_COLUMNS)


def _instrument(**overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "instrument_token": 738561,
        "tradingsymbol": "RELIANCE",
        "exchange": "NSE",
        "tick_size": TICK,
        "lot_size": 1,
        "base_price": Decimal("1400.00"),
        "annual_volatility": 0.22,
        "name": "RELIANCE INDUSTRIES",
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def test_the_default_book_holds_twenty_nse_equities_with_their_real_kite_tokens() -> None:
    book = InstrumentBook.default()
    assert len(book) == 20
    known = {
        "RELIANCE": 738561,
        "INFY": 408065,
        "TCS": 2953217,
        "HDFCBANK": 341249,
        "ICICIBANK": 1270529,
        "SBIN": 779521,
    }
    for symbol, token in known.items():
        inst = book.by_symbol(symbol)
        assert inst is not None
        assert inst.instrument_token == token
    for inst in book:
        assert inst.exchange == "NSE"
        assert inst.tick_size == TICK
        assert inst.lot_size == 1
        assert inst.instrument_token & 0xFF == 1  # Kite's NSE segment code in the low byte
        assert on_tick_grid(inst.base_price, inst.tick_size)
        assert 0.1 < inst.annual_volatility < 0.6


def test_the_default_book_is_loaded_once() -> None:
    assert InstrumentBook.default() is InstrumentBook.default()


def test_finds_an_instrument_by_token_symbol_or_exchange_prefixed_symbol() -> None:
    book = InstrumentBook.default()
    infy = book.get(408065)
    assert infy is not None
    assert book.by_symbol("INFY") is infy
    assert book.by_symbol("infy") is infy
    assert book.by_symbol("NSE:INFY") is infy
    assert book.by_symbol("BSE:INFY") is None
    assert book.resolve(408065) is infy
    assert book.resolve("408065") is infy
    assert book.resolve("INFY") is infy
    assert book.get(1) is None
    assert book.by_symbol("NOSUCH") is None


def test_supports_membership_iteration_and_length() -> None:
    book = InstrumentBook(
        [_instrument(), _instrument(instrument_token=408065, tradingsymbol="INFY")]
    )
    assert 738561 in book
    assert 1 not in book
    assert [i.tradingsymbol for i in book] == ["RELIANCE", "INFY"]
    assert len(book) == 2
    assert book.tokens == (738561, 408065)


def test_exposes_the_exchange_token_kite_packs_into_the_instrument_token() -> None:
    assert _instrument().exchange_token == 2885


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("100.025", "100.05"),
        ("100.0249", "100.00"),
        ("100.074", "100.05"),
        ("100.075", "100.10"),
        ("100.05", "100.05"),
        ("0.02", "0.00"),
    ],
)
def test_rounds_half_up_to_the_nearest_tick(price: str, expected: str) -> None:
    assert round_to_tick(Decimal(price), TICK) == Decimal(expected)


def test_a_price_is_on_the_grid_only_when_it_is_a_multiple_of_the_tick() -> None:
    assert on_tick_grid(Decimal("2450.05"), TICK)
    assert on_tick_grid(Decimal("2450"), TICK)
    assert not on_tick_grid(Decimal("2450.03"), TICK)
    assert not on_tick_grid(Decimal("NaN"), TICK)
    assert not on_tick_grid(Decimal("Infinity"), TICK)


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=4),
    st.sampled_from([Decimal("0.05"), Decimal("0.01"), Decimal("0.10"), Decimal("1")]),
)
def test_rounding_lands_on_the_grid_within_half_a_tick(price: Decimal, tick: Decimal) -> None:
    rounded = round_to_tick(price, tick)
    assert on_tick_grid(rounded, tick)
    assert abs(rounded - price) <= tick / 2


def test_reads_a_csv_and_names_file_line_and_column_of_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(
        f"{HEADER}\n"
        "738561,RELIANCE,NSE,0.05,1,1400.00,0.22,RELIANCE INDUSTRIES\n"
        "408065,INFY,NSE,0.05,one,1500.00,0.26,INFOSYS\n"
    )
    with pytest.raises(InstrumentError, match=r"instruments\.csv:3: column 'lot_size': 'one'"):
        InstrumentBook.from_csv(path)


def test_reads_a_valid_csv(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(f"{HEADER}\n738561,RELIANCE,nse,0.05,1,1400.00,0.22,RELIANCE INDUSTRIES\n")
    book = InstrumentBook.from_csv(path)
    assert book.get(738561) == _instrument()


def test_refuses_a_csv_whose_header_lacks_a_column(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text("instrument_token,tradingsymbol\n738561,RELIANCE\n")
    with pytest.raises(InstrumentError, match=r":1: missing column\(s\) exchange, tick_size"):
        InstrumentBook.from_csv(path)


def test_refuses_a_base_price_off_the_tick_grid(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(f"{HEADER}\n738561,RELIANCE,NSE,0.05,1,1400.03,0.22,X\n")
    with pytest.raises(
        InstrumentError, match=r":2: RELIANCE: base_price 1400.03 is not a multiple"
    ):
        InstrumentBook.from_csv(path)


def test_refuses_duplicate_tokens_and_symbols() -> None:
    with pytest.raises(InstrumentError, match="duplicate instrument_token 738561"):
        InstrumentBook([_instrument(), _instrument(tradingsymbol="OTHER")])
    with pytest.raises(InstrumentError, match="duplicate tradingsymbol"):
        InstrumentBook([_instrument(), _instrument(instrument_token=1)])


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"instrument_token": 0}, "instrument_token must be positive"),
        ({"tick_size": Decimal(0)}, "tick_size must be a positive decimal"),
        ({"lot_size": 0}, "lot_size must be at least 1"),
        ({"base_price": Decimal(-1)}, "base_price must be positive"),
        ({"annual_volatility": float("nan")}, "annual_volatility must be a finite fraction"),
    ],
)
def test_refuses_an_unusable_instrument(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(InstrumentError, match=problem):
        _instrument(**overrides)
