"""`alpha-panda zerodha instruments`: Kite's dump (through the official client, from
`alpha-panda sim kite`) imported into the instrument master that strategies and risk read
when ALPHA_PANDA_INSTRUMENTS points at it; bad rows are findings naming their line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from actors.instruments import InstrumentBook
from actors.kite.instruments_import import KITE_EXTRA_COLUMNS, import_rows, write_book
from ops.config_loading import instrument_book
from ops.settings import load_settings
from schemas.errors import ConfigError
from tests.ops.sim.conftest import RunningSim, kite_sim
from tests.ops.zerodha_cli import SECRET_NAMES, cli_env, run_cli

__all__ = ["kite_sim"]  # the simulator fixture, one per test


def test_the_dump_becomes_the_book_with_kites_tick_and_lot_sizes(
    kite_sim: RunningSim, tmp_path: Path
) -> None:
    env = cli_env(kite_sim, tmp_path / "var", with_token=True)
    done = run_cli(env, tmp_path, "zerodha", "instruments", "--exchange", "NSE")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "var" / "instruments.csv"
    assert f"imported 20 instruments of NSE to {out}" in done.stdout
    assert f"export ALPHA_PANDA_INSTRUMENTS={out}" in done.stdout
    for name in SECRET_NAMES:
        assert kite_sim.env[name] not in done.stdout + done.stderr
    book = InstrumentBook.from_csv(out)
    shipped = InstrumentBook.default()
    assert len(book) == len(shipped) == 20
    for inst in shipped:
        got = book.get(inst.instrument_token)
        assert got is not None and got.tradingsymbol == inst.tradingsymbol
        assert (got.tick_size, got.lot_size, got.exchange) == (inst.tick_size, inst.lot_size, "NSE")
    with out.open() as f:
        row = next(csv.DictReader(f))
    assert set(KITE_EXTRA_COLUMNS) <= set(row) and row["segment"] == "NSE"
    settings = load_settings(ALPHA_PANDA_INSTRUMENTS=str(out))
    assert len(instrument_book(settings)) == 20


def _row(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "instrument_token": 408065, "exchange_token": "1594", "tradingsymbol": "INFY",
        "name": "INFOSYS", "last_price": 1500.35, "expiry": "", "strike": 0.0,
        "tick_size": 0.05, "lot_size": 1, "instrument_type": "EQ", "segment": "NSE",
        "exchange": "NSE",
    }  # fmt: skip
    return base | over


def test_bad_rows_are_findings_naming_the_line_and_the_rest_is_kept(tmp_path: Path) -> None:
    rows = [
        _row(),
        _row(instrument_token=256265, tradingsymbol="NIFTY 50", segment="INDICES", lot_size=0),
        _row(instrument_token=1, tradingsymbol="ZEROTICK", tick_size=0.0),
        _row(instrument_token=2, tradingsymbol="NOLOT", lot_size=0),
        _row(tradingsymbol="INFY2"),  # token repeats line 2
        _row(instrument_token=3),  # symbol repeats line 2
        _row(
            instrument_token=4,
            tradingsymbol="NFO1",
            expiry="2026-12-31",
            strike=24000.0,
            last_price=0.0,
            lot_size=75,
            segment="NFO-OPT",
            instrument_type="CE",
            exchange="NFO",
        ),
    ]
    result = import_rows(rows)
    assert [r.instrument.tradingsymbol for r in result.rows] == ["INFY", "NFO1"]
    assert result.indices == 1 and result.seen == 7
    assert result.findings[0].startswith("line 4 (ZEROTICK): tick_size")
    assert result.findings[1].startswith("line 5 (NOLOT):") and "lot_size" in result.findings[1]
    assert "repeats line 2" in result.findings[2] and "repeats line 2" in result.findings[3]
    infy, opt = (r.instrument for r in result.rows)
    assert str(infy.base_price) == "1500.35"
    assert opt.lot_size == 75 and opt.base_price > 0  # no last price: a placeholder for the walk
    out = tmp_path / "book.csv"
    assert write_book(out, result.rows) == 2
    book = InstrumentBook.from_csv(out)
    assert book.get(4) is not None and book.get(4).lot_size == 75  # type: ignore[union-attr]
    with out.open() as f:
        by_symbol = {r["tradingsymbol"]: r for r in csv.DictReader(f)}
    assert (by_symbol["NFO1"]["expiry"], by_symbol["NFO1"]["strike"]) == ("2026-12-31", "24000.0")


def test_an_unreadable_instruments_file_is_a_config_error_naming_the_variable(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("instrument_token,tradingsymbol\n1,X\n")
    with pytest.raises(ConfigError, match="ALPHA_PANDA_INSTRUMENTS"):
        instrument_book(load_settings(ALPHA_PANDA_INSTRUMENTS=str(bad)))
