"""`alpha-panda backtest --data` reads every format the loader reads, and the loader's
findings reach the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.cli import main

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ROOT / "strategies.yaml"


def test_the_shipped_sample_runs_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "bt"
    assert main(["backtest", "--data", "sample", "--strategies", str(STRATEGIES),
                 "--out", str(out)]) == 0  # fmt: skip
    assert "52500 ticks" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["findings"] == []
    assert (out / "report.html").is_file()


def test_a_candle_gap_is_a_finding_of_the_report(tmp_path: Path) -> None:
    rows = [f"2024-01-01T{9 + (15 + m) // 60:02d}:{(15 + m) % 60:02d}:00+0530,"
            f"{1500 + (m % 7) * 0.05:.2f},1501.00,1499.00,{1500 + (m % 5) * 0.05:.2f},10"
            for m in range(375) if m != 100]  # fmt: skip
    (tmp_path / "INFY.csv").write_text("date,open,high,low,close,volume\n" + "\n".join(rows))
    out = tmp_path / "bt"
    assert main(["backtest", "--data", str(tmp_path / "INFY.csv"), "--strategies",
                 str(STRATEGIES), "--out", str(out)]) == 0  # fmt: skip
    findings = json.loads((out / "report.json").read_text())["findings"]
    assert any("INFY 2024-01-01: 1 of 375 session minutes missing (10:55)" in f for f in findings)


def test_an_unknown_instrument_stops_the_run_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "c.csv"
    bad.write_text("date,symbol,open,high,low,close,volume\n"
                   "2024-01-01T09:15:00+0530,NOPE,1,1,1,1,1\n")  # fmt: skip
    assert main(["backtest", "--data", str(bad), "--strategies", str(STRATEGIES),
                 "--out", str(tmp_path / "bt")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert f"{bad}:2: column 'symbol': 'NOPE' is not in the instrument master" in err
    assert "Traceback" not in err
