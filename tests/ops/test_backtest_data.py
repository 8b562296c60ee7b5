"""Market data loading: formats, the candle-to-tick convention, findings and errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from actors.feed.replay import read_ticks_csv
from ops.backtest.candles import TICK_OFFSETS_S
from ops.backtest.data import (
    DataError,
    format_ns,
    load_market_data,
    resolve_data_path,
)
from ops.backtest.inputs import parse_bound
from ops.backtest.sample import write_sample_candles
from ops.errors import ConfigError

SAMPLE_TICKS = Path(__file__).parents[2] / "actors" / "data" / "sample_ticks.csv"
HEAD = "date,open,high,low,close,volume\n"
NS = 1_000_000_000


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_tick_csv_loads_as_the_replay_reader_reads_it() -> None:
    data = load_market_data(SAMPLE_TICKS)
    assert [t for _, t in read_ticks_csv(SAMPLE_TICKS)] == list(data.ticks)
    assert data.findings == []
    assert data.instruments == (738561, 408065, 2953217)


def test_candles_expand_into_four_ticks_in_path_order(tmp_path: Path) -> None:
    path = write(tmp_path / "INFY.csv", HEAD
                 + "2024-01-01T09:15:00+0530,1500.00,1502.00,1499.00,1501.00,10\n"
                 + "2024-01-01T09:16:00+0530,1501.00,1503.00,1498.00,1499.50,7\n")  # fmt: skip
    data = load_market_data(path)
    prices = [str(t.last_price) for t in data.ticks]
    # rising: open, low, high, close; falling: open, high, low, close
    assert prices == ["1500.00", "1499.00", "1502.00", "1501.00",
                      "1501.00", "1503.00", "1498.00", "1499.50"]  # fmt: skip
    start = parse_bound("2024-01-01T09:15:00+05:30", "--from")
    stamps = [t.exchange_timestamp_ns for t in data.ticks]
    assert stamps[:4] == [start + s * NS for s in TICK_OFFSETS_S]
    assert stamps[4] == start + 60 * NS
    assert [t.last_traded_quantity for t in data.ticks] == [2, 2, 2, 4, 1, 1, 1, 4]
    assert [t.volume_traded for t in data.ticks][-1] == 17  # cumulative over the day
    last = data.ticks[-1]
    assert last.ohlc is not None
    assert (last.ohlc.open, last.ohlc.high, last.ohlc.low) == (
        Decimal("1500.00"), Decimal("1503.00"), Decimal("1498.00"))  # fmt: skip
    assert last.symbol == "INFY"
    assert last.instrument_token == 408065


def test_file_named_by_token_and_symbol_column(tmp_path: Path) -> None:
    by_token = write(tmp_path / "408065.csv", HEAD
                     + "2024-01-01T09:15:00+0530,1500.00,1500.00,1500.00,1500.00,4\n")  # fmt: skip
    assert load_market_data(by_token).instruments == (408065,)
    mixed = write(tmp_path / "x.csv", "date,symbol,open,high,low,close,volume\n"
                  "2024-01-01 09:15:00+05:30,TCS,3100,3100,3100,3100,1\n"
                  "2024-01-01 09:15:00+05:30,NSE:INFY,1500,1500,1500,1500,1\n")  # fmt: skip
    assert set(load_market_data(mixed).instruments) == {408065, 2953217}


def test_a_missing_minute_is_a_finding_a_missing_day_is_not(tmp_path: Path) -> None:
    rows = [f"2024-01-0{d}T{9 + (15 + m) // 60:02d}:{(15 + m) % 60:02d}:00+0530,"
            "1500.00,1500.00,1500.00,1500.00,4" for d in (1, 3) for m in range(375)
            if not (d == 3 and m in (46, 47))]  # fmt: skip
    data = load_market_data(write(tmp_path / "INFY.csv", HEAD + "\n".join(rows) + "\n"))
    assert len(data.findings) == 1
    assert "INFY 2024-01-03: 2 of 375 session minutes missing (10:01, 10:02)" in data.findings[0]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            "2024-01-01T09:16:00+0530,1,1,1,1,1\n2024-01-01T09:15:00+0530,1,1,1,1,1\n",
            ":3: column 'date': INFY 2024-01-01 09:15:00+05:30 is before the candle on line 2",
        ),
        (
            "2024-01-01T09:15:00+0530,1,1,1,1,1\n2024-01-01T09:15:00+0530,1,1,1,1,1\n",
            ":3: column 'date': INFY 2024-01-01 09:15:00+05:30 repeats the candle on line 2; drop",
        ),
        ("2024-01-01T09:15:00+0530,1,1,x,1,1\n", ":2: column 'low': 'x' is not a decimal"),
        ("2024-01-01T09:15:00+0530,1.03,1.05,1,1,1\n", "column 'open': 1.03 is off the tick grid"),
        ("2024-01-01T09:15:30+0530,1,1,1,1,1\n", "is not the start of a minute"),
        ("yesterday,1,1,1,1,1\n", "column 'date': 'yesterday' is not ISO-8601; write e.g."),
        ("2024-01-01T09:15:00+0530,1,2,1,3,1\n", "do not bound open 1 and close 3"),
        ("2024-01-01T09:15:00+0530,1,1,1,1,-5\n", "column 'volume': -5 is negative"),
    ],
)
def test_bad_candles_name_file_line_and_fix(tmp_path: Path, body: str, needle: str) -> None:
    path = write(tmp_path / "INFY.csv", HEAD + body)
    with pytest.raises(DataError) as err:
        load_market_data(path)
    assert isinstance(err.value, ConfigError)
    assert str(err.value).startswith(str(path))
    assert needle in str(err.value)


def test_unknown_instruments_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no instrument_token or symbol column.*INFY\.csv"):
        load_market_data(write(tmp_path / "prices.csv", HEAD))
    body = "date,symbol,open,high,low,close,volume\n2024-01-01T09:15:00+0530,ZZZ,1,1,1,1,1\n"
    with pytest.raises(DataError, match=r"x\.csv:2: column 'symbol': 'ZZZ' is not in the instr"):
        load_market_data(write(tmp_path / "x.csv", body))
    ticks = "ts,instrument_token,last_price,volume\n1,738561,1400,1\n2,99,1,1\n"
    with pytest.raises(DataError, match=r"t\.csv:3: column 'instrument_token': .*99 is not in"):
        load_market_data(write(tmp_path / "t.csv", ticks))
    with pytest.raises(DataError, match="instrument 'ZZZ' is not in the instrument master"):
        load_market_data(SAMPLE_TICKS, instruments=["ZZZ"])


def test_tick_file_order_and_duplicates(tmp_path: Path) -> None:
    head = "ts,instrument_token,last_price,volume\n"
    with pytest.raises(
        DataError, match=r"t\.csv:3: column 'ts': .* is before .*sort the file by ts"
    ):
        load_market_data(write(tmp_path / "t.csv", head + "5,738561,1400,1\n4,738561,1400,2\n"))
    with pytest.raises(DataError, match=r"d\.csv:3: column 'ts': RELIANCE has a tick at .* drop"):
        load_market_data(write(tmp_path / "d.csv", head + "5,738561,1400,1\n5,738561,1400,2\n"))
    # the same instant for two instruments is fine
    both = load_market_data(write(tmp_path / "b.csv", head + "5,738561,1400,1\n5,408065,1500,1\n"))
    assert len(both.ticks) == 2
    with pytest.raises(DataError, match=r"m\.csv:2: column 'last_price': 'abc' is not a decimal"):
        load_market_data(write(tmp_path / "m.csv", head + "5,738561,abc,1\n"))


def test_range_and_instrument_filters(tmp_path: Path) -> None:
    data = load_market_data("sample", from_ns=parse_bound("2024-01-02", "--from"),
                            to_ns=parse_bound("2024-01-02", "--to", end=True), instruments=["INFY"])  # fmt: skip
    assert data.instruments == (408065,)
    assert format_ns(data.first_ns) == "2024-01-02 09:15:00+05:30"
    assert format_ns(data.last_ns) == "2024-01-02 15:29:59+05:30"
    assert len(data.ticks) == 375 * 4
    with pytest.raises(DataError) as err:
        load_market_data("sample", from_ns=parse_bound("2025-01-01", "--from"))
    message = str(err.value)
    assert "no ticks in [2025-01-01 00:00:00+05:30, -]" in message
    assert "covers 2024-01-01 09:15:00+05:30 to 2024-01-05 15:29:59+05:30" in message
    # both bounds are inclusive
    first = load_market_data(SAMPLE_TICKS).first_ns
    assert len(load_market_data(SAMPLE_TICKS, from_ns=first, to_ns=first).ticks) == 1


def test_directory_merges_files_by_time(tmp_path: Path) -> None:
    write(tmp_path / "INFY.csv", HEAD + "2024-01-01T09:16:00+0530,1500,1500,1500,1500,4\n")
    write(tmp_path / "TCS.csv", HEAD + "2024-01-01T09:15:00+0530,3100,3100,3100,3100,4\n")
    data = load_market_data(tmp_path)
    assert [t.symbol for t in data.ticks] == ["TCS"] * 4 + ["INFY"] * 4
    assert len(data.sources) == 2


def test_parquet_ticks_and_candles(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = list(read_ticks_csv(SAMPLE_TICKS))
    table = pa.table({
        "ts": [ts for ts, _ in rows],
        "instrument_token": [t.instrument_token for _, t in rows],
        "last_price": [str(t.last_price) for _, t in rows],
        "volume": [t.volume_traded for _, t in rows],
    })  # fmt: skip
    pq.write_table(table, tmp_path / "ticks.parquet")
    data = load_market_data(tmp_path / "ticks.parquet")
    assert [t.last_price for t in data.ticks] == [t.last_price for _, t in rows]
    candles = pa.table({"date": ["2024-01-01T09:15:00+05:30"], "symbol": ["INFY"],
                        "open": [1500.0], "high": [1501.5], "low": [1499.95],
                        "close": [1500.5], "volume": [8]})  # fmt: skip
    pq.write_table(candles, tmp_path / "c.parquet")
    assert [str(t.last_price) for t in load_market_data(tmp_path / "c.parquet").ticks] == [
        "1500.0", "1499.95", "1501.5", "1500.5"]  # fmt: skip
    bad = pa.table({"ts": [1], "instrument_token": [738561], "last_price": ["x"], "volume": [1]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet:2: column 'last_price'"):
        load_market_data(tmp_path / "bad.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"junk\.parquet: is not a readable Parquet file"):
        load_market_data(tmp_path / "junk.parquet")


def test_sample_resolves_from_any_directory_and_regenerates_byte_for_byte(tmp_path: Path) -> None:
    shipped = resolve_data_path("sample")
    assert shipped.is_file()
    assert shipped.stat().st_size < 2_000_000
    write_sample_candles(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == shipped.read_bytes()
    data = load_market_data("sample")
    assert data.findings == []
    assert len(data.ticks) == 7 * 5 * 375 * 4
    with pytest.raises(DataError, match="no such file or directory; give a tick or candle file"):
        resolve_data_path(tmp_path / "missing.csv")
    out = subprocess.run([sys.executable, "-m", "ops.cli", "data", "sample", "--out",
                          str(tmp_path / "cli.csv")], cwd=tmp_path, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "cli.csv").read_bytes() == shipped.read_bytes()


def test_tick_silences_and_candles_outside_the_session_are_findings(tmp_path: Path) -> None:
    head = "ts,instrument_token,last_price,volume\n"
    t0 = parse_bound("2024-01-01T10:00:00", "--from")
    rows = [f"{t0},738561,1400,1", f"{t0 + 60 * NS},738561,1400,2",
            f"{t0 + 700 * NS},738561,1400,3",  # silent for 640 s inside the session
            f"{t0 + 86_400 * NS},738561,1400,4"]  # the next day: not a silence  # fmt: skip
    data = load_market_data(write(tmp_path / "t.csv", head + "\n".join(rows) + "\n"))
    assert len(data.findings) == 1
    assert "RELIANCE has 1 silence(s) of more than 5 minutes" in data.findings[0]
    late = [f"2024-01-01T{9 + (15 + m) // 60:02d}:{(15 + m) % 60:02d}:00+0530,1,1,1,1,1"
            for m in range(375)]  # fmt: skip
    late.append("2024-01-01T15:45:00+0530,1,1,1,1,1")
    candles = load_market_data(write(tmp_path / "INFY.csv", HEAD + "\n".join(late) + "\n"))
    assert candles.findings == [f"{tmp_path / 'INFY.csv'}: INFY: 1 candle(s) outside the "
                                "09:15-15:30 IST session (kept)"]  # fmt: skip


def test_a_binary_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "ticks.csv"
    path.write_bytes(b"ts,instrument_token,last_price,volume\n\xff\xfe\x00\x01\n")
    with pytest.raises(DataError, match=r"ticks\.csv: is not UTF-8 text"):
        load_market_data(path)
