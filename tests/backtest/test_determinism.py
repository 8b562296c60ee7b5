"""The same data, configuration and seed give byte-identical orders, fills and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.cli import main
from tests.e2e.conftest import DATA

TICKS = DATA / "pipeline_ticks.csv"
STRATEGIES = DATA / "pipeline_strategies.yaml"


def backtest(out: Path, seed: int = 7) -> int:
    return main(["backtest", "--data", str(TICKS), "--strategies", str(STRATEGIES),
                 "--capital", "1000000", "--seed", str(seed), "--out", str(out)])  # fmt: skip


@pytest.fixture(autouse=True)
def paper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_PANDA_PAPER", json.dumps({"slippage_bps": "5"}))
    monkeypatch.setenv("ALPHA_PANDA_RISK_LIMITS", json.dumps({"max_order_notional": "100000"}))


def test_two_runs_write_the_same_trades_and_report_byte_for_byte(tmp_path: Path) -> None:
    assert backtest(tmp_path / "a") == 0
    assert backtest(tmp_path / "b") == 0
    for name in ("trades.csv", "report.json"):
        first, second = ((tmp_path / d / name).read_bytes() for d in ("a", "b"))
        assert first == second, name
    assert len((tmp_path / "a" / "trades.csv").read_text().splitlines()) > 5


def test_another_seed_changes_the_ids_but_no_figure(tmp_path: Path) -> None:
    assert backtest(tmp_path / "a", seed=1) == 0
    assert backtest(tmp_path / "b", seed=2) == 0
    a, b = ((tmp_path / d / "trades.csv").read_text() for d in ("a", "b"))
    assert a != b
    strip = [[cell for i, cell in enumerate(row.split(",")) if i < 11] for row in a.splitlines()]
    assert strip == [[c for i, c in enumerate(row.split(",")) if i < 11] for row in b.splitlines()]
    report_a, report_b = (json.loads((tmp_path / d / "report.json").read_bytes()) for d in "ab")
    assert report_a.pop("config")["seed"] == "1"  # the run's setup names its seed
    assert report_b.pop("config")["seed"] == "2"
    assert report_a == report_b


def test_bad_data_is_an_error_naming_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,instrument_token,last_price,volume\n1,408065,1500.00,10\n2,408065,abc,11\n")
    assert main(["backtest", "--data", str(bad), "--strategies", str(STRATEGIES),
                 "--out", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert f"{bad}:3" in err and "last_price" in err and "Traceback" not in err


def test_unsorted_data_and_an_empty_range_name_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unsorted = tmp_path / "unsorted.csv"
    unsorted.write_text("ts,instrument_token,last_price,volume\n5,408065,1500,1\n4,408065,1500,2\n")
    args = ["backtest", "--strategies", str(STRATEGIES), "--out", str(tmp_path / "out")]
    assert main([*args, "--data", str(unsorted)]) == 2
    assert "sort the file by ts" in capsys.readouterr().err
    assert main([*args, "--data", str(TICKS), "--from", "2030-01-01"]) == 2
    assert "widen --from/--to" in capsys.readouterr().err
