"""Tick CSV files and replay pacing."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from actors.errors import TickCsvError
from actors.feed.gbm import GbmFeed
from actors.feed.replay import (
    CSV_COLUMNS,
    ReplayClock,
    pacing_delays,
    read_ticks_csv,
    write_ticks_csv,
)
from actors.instruments import InstrumentBook

BOOK = InstrumentBook.default()
S = 1_000_000_000  # one second in ns


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ticks.csv"
    path.write_text(text)
    return path


def test_round_trips_prices_volumes_ohlc_and_the_best_level_through_csv(tmp_path: Path) -> None:
    written = GbmFeed(BOOK, 3).take(100)
    path = tmp_path / "ticks.csv"
    assert write_ticks_csv(path, written) == 100
    read = list(read_ticks_csv(path))
    assert [ts for ts, _ in read] == [ts for ts, _ in written]
    for (_, got), (_, want) in zip(read, written, strict=True):
        assert got.instrument_token == want.instrument_token
        assert got.symbol == want.symbol
        assert got.last_price == want.last_price
        assert got.volume_traded == want.volume_traded
        assert got.last_traded_quantity == want.last_traded_quantity
        assert got.average_traded_price == want.average_traded_price
        assert got.ohlc == want.ohlc
        assert got.change == want.change
        assert got.depth is not None
        assert want.depth is not None
        assert got.depth.buy[0].price == want.depth.buy[0].price
        assert got.depth.sell[0].quantity == want.depth.sell[0].quantity


def test_the_shipped_sample_is_what_the_feed_writes_for_seed_seven(tmp_path: Path) -> None:
    symbols = ("RELIANCE", "INFY", "TCS")
    instruments = [i for s in symbols if (i := BOOK.by_symbol(s)) is not None]
    path = tmp_path / "sample.csv"
    write_ticks_csv(path, GbmFeed(instruments, 7, tick_interval_s=0.1).take(300))
    shipped = resources.files("actors.data").joinpath("sample_ticks.csv").read_text()
    assert path.read_text() == shipped
    assert len(list(read_ticks_csv(path))) == 300


def test_reads_the_minimal_columns_and_iso_timestamps_with_an_offset(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "ts,instrument_token,last_price,volume\n"
        "2024-01-01T09:15:00+05:30,408065,1500.05,10\n"
        "\n"
        "1704080700500000000,408065,1500.10,12\n",
    )
    (ts1, t1), (ts2, t2) = read_ticks_csv(path)
    assert ts1 == 1_704_080_700 * S
    assert ts2 == ts1 + S // 2
    assert t1.last_price == Decimal("1500.05")
    assert t2.volume_traded == 12
    assert t1.ohlc is None
    assert t1.depth is None
    assert t1.exchange_timestamp_ns == ts1


def test_names_the_file_line_and_column_of_a_price_that_is_not_a_number(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "ts,instrument_token,last_price,volume\n1,408065,1500,1\n2,408065,abc,2\n"
    )
    with pytest.raises(
        TickCsvError, match=r"ticks\.csv:3: column 'last_price': 'abc' is not a dec"
    ):
        list(read_ticks_csv(path))


def test_refuses_a_nan_price(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume\n1,408065,NaN,1\n")
    with pytest.raises(TickCsvError, match=r":2: column 'last_price': 'NaN' is not finite") as info:
        list(read_ticks_csv(path))
    assert (info.value.line, info.value.column) == (2, "last_price")


def test_refuses_an_empty_required_cell(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume\n1,408065,,1\n")
    with pytest.raises(TickCsvError, match=r"column 'last_price': is empty"):
        list(read_ticks_csv(path))


def test_refuses_a_negative_volume(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume\n1,408065,1,-5\n")
    with pytest.raises(TickCsvError, match=r"column 'volume': -5 is negative"):
        list(read_ticks_csv(path))


def test_refuses_a_header_without_a_required_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,volume\n1,408065,1\n")
    with pytest.raises(TickCsvError, match=r":1: column 'last_price': missing"):
        list(read_ticks_csv(path))


def test_refuses_an_unknown_column_and_lists_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume,bidqty\n1,408065,1,1,5\n")
    with pytest.raises(TickCsvError, match=r"column 'bidqty': unknown column; known columns: ts,"):
        list(read_ticks_csv(path))


def test_refuses_a_partial_ohlc(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume,open\n1,408065,1,1,1\n")
    with pytest.raises(TickCsvError, match=r"column 'high': missing; give all of open"):
        list(read_ticks_csv(path))


def test_refuses_a_row_with_the_wrong_number_of_cells(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume\n1,408065,1,1,9\n")
    with pytest.raises(TickCsvError, match=r":2: 5 cells but the header has 4"):
        list(read_ticks_csv(path))


def test_refuses_a_timestamp_without_an_offset(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts,instrument_token,last_price,volume\n2024-01-01T09:15:00,1,1,1\n")
    with pytest.raises(TickCsvError, match=r"column 'ts': .* has no UTC offset; add one"):
        list(read_ticks_csv(path))


def test_writes_every_documented_column_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_ticks_csv(path, GbmFeed(BOOK, 1).take(1))
    assert path.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)


def test_real_time_replay_waits_the_market_gap_between_ticks() -> None:
    assert pacing_delays([10 * S, 10 * S, 11 * S, 13 * S]) == [0.0, 0.0, 1.0, 2.0]


def test_accelerated_replay_divides_the_gaps_by_the_speed() -> None:
    assert pacing_delays([0, 10 * S, 30 * S], speed=10) == [0.0, 1.0, 2.0]


def test_speed_zero_replays_as_fast_as_possible() -> None:
    assert pacing_delays([0, 10 * S, 30 * S], speed=0) == [0.0, 0.0, 0.0]


def test_a_long_market_gap_is_capped_by_max_gap() -> None:
    overnight = 18 * 3600 * S
    assert pacing_delays([0, S, S + overnight], max_gap_s=5) == [0.0, 1.0, 5.0]


def test_a_tick_whose_time_runs_backwards_is_due_at_once_and_does_not_rewind_the_clock() -> None:
    clock = ReplayClock(1.0)
    assert [clock.due_s(ts) for ts in (0, 5 * S, 3 * S, 6 * S)] == [0.0, 5.0, 5.0, 6.0]


def test_the_wait_is_measured_from_the_start_so_slow_sends_do_not_drift() -> None:
    clock = ReplayClock(2.0)
    assert clock.wait_s(0, elapsed_s=0.0) == 0.0
    assert clock.wait_s(4 * S, elapsed_s=0.5) == 1.5  # due at 2 s, 0.5 s already gone
    assert clock.wait_s(6 * S, elapsed_s=7.0) == 0.0  # late: send now


def test_refuses_a_negative_speed() -> None:
    with pytest.raises(ValueError, match="speed must be >= 0"):
        ReplayClock(-1)
