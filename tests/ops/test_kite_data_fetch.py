"""`alpha-panda data fetch`: minute candles through the official client's historical API,
in 60-day windows at 3 requests a second, in the backtester's format; and the backtest
runs on what it wrote. Against `alpha-panda sim kite`."""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from actors.instruments import InstrumentBook
from actors.kite.session import kite_client, load_session
from ops.backtest.data import load_market_data
from ops.data_fetch import WINDOW, KiteDataError, _Spacer, fetch_candles, parse_when, windows
from ops.settings import load_settings
from tests.ops.sim.conftest import RunningSim, start_sim
from tests.ops.zerodha_cli import SECRET_NAMES, cli_env, run_cli

INFY = InstrumentBook.default().by_symbol("INFY")


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim() as running:
        yield running


def test_windows_cover_the_range_within_kites_60_days_without_overlap() -> None:
    start, end = parse_when("2024-01-01", end=False), parse_when("2024-03-31", end=True)
    parts = windows(start, end)
    assert len(parts) == 2
    assert parts[0][0] == start and parts[-1][1] == end
    for a, b in parts:
        assert b - a <= timedelta(days=60)
    for (_, b), (c, _) in itertools.pairwise(parts):
        assert c == b + timedelta(minutes=1)
    assert windows(start, start + WINDOW) == [(start, start + WINDOW)]


def test_requests_are_spaced_a_third_of_a_second_apart() -> None:
    spacer = _Spacer(1 / 3)
    began = time.monotonic()
    for _ in range(4):
        spacer.wait()
    assert time.monotonic() - began >= 1.0 - 1e-6  # 3 gaps; a lower bound, load only adds


def test_a_range_over_60_days_is_fetched_in_two_requests_and_retries_a_429(
    sim: RunningSim, tmp_path: Path
) -> None:
    assert INFY is not None
    settings = load_settings(
        KITE_API_KEY=sim.env["KITE_API_KEY"], KITE_ACCESS_TOKEN=sim.env["KITE_ACCESS_TOKEN"],
        KITE_ROOT=sim.env["KITE_ROOT"], ALPHA_PANDA_DATA_DIR=str(tmp_path),
    )  # fmt: skip
    kite = kite_client(load_session(settings), timeout_s=60)
    start = parse_when("2024-01-01", end=False)
    end = start + timedelta(days=60, minutes=9)
    sim.faults(http_429=1)
    lines: list[str] = []
    out = tmp_path / "INFY.csv"
    result = fetch_candles(kite, INFY, start, end, out, progress=lines.append)
    assert (result.requests, result.retries) == (3, 1)  # two windows, one 429 retried
    assert result.candles == 60 * 24 * 60 + 10
    assert lines[-1].startswith("window 2/2")
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == result.candles
    stamps = [datetime.fromisoformat(r["date"]) for r in rows]
    assert stamps[0] == start and stamps[-1] == end
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(stamps))


def test_a_rejected_token_names_the_login(tmp_path: Path) -> None:
    assert INFY is not None
    with start_sim() as sim:
        settings = load_settings(
            KITE_API_KEY=sim.env["KITE_API_KEY"], KITE_ACCESS_TOKEN=sim.env["KITE_ACCESS_TOKEN"],
            KITE_ROOT=sim.env["KITE_ROOT"], ALPHA_PANDA_DATA_DIR=str(tmp_path),
        )  # fmt: skip
        sim.faults(expire_token=True)
        kite = kite_client(load_session(settings))
        start = parse_when("2024-01-01", end=False)
        with pytest.raises(KiteDataError, match="alpha-panda zerodha login"):
            fetch_candles(kite, INFY, start, start + timedelta(hours=1), tmp_path / "x.csv")


def test_fetched_candles_run_through_the_backtester_end_to_end(
    sim: RunningSim, tmp_path: Path
) -> None:
    env = cli_env(sim, tmp_path / "var", with_token=True)
    out = tmp_path / "infy.csv"
    done = run_cli(env, tmp_path, "data", "fetch", "--symbol", "INFY", "--from", "2024-01-01",
                   "--to", "2024-01-02", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {2 * 24 * 60} one-minute candles of INFY" in done.stdout
    assert "window 1/1" in done.stderr
    for name in SECRET_NAMES:
        assert sim.env[name] not in done.stdout + done.stderr
    data = load_market_data(out)
    assert len(data.ticks) == 4 * 2 * 24 * 60 and data.instruments == (408065,)
    report = tmp_path / "report"
    bt = run_cli(env, tmp_path, "backtest", "--data", str(out), "--out", str(report), timeout=600)
    assert bt.returncode == 0, bt.stdout + bt.stderr
    assert any(report.iterdir())


def test_an_unknown_symbol_names_the_import(sim: RunningSim, tmp_path: Path) -> None:
    env = cli_env(sim, tmp_path / "var", with_token=True)
    done = run_cli(env, tmp_path, "data", "fetch", "--symbol", "NOSUCH", "--from", "2024-01-01",
                   "--to", "2024-01-02", "--out", str(tmp_path / "x.csv"))  # fmt: skip
    assert done.returncode == 2 and "alpha-panda zerodha instruments" in done.stderr
