"""`alpha-panda bench ledger`: figures per fill for both ways of writing the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "bench", "ledger", *args],
        capture_output=True, text=True, timeout=80, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


@pytest.mark.timeout(90)
def test_a_short_run_records_every_fill_once_in_both_modes(tmp_path: Path) -> None:
    proc = bench(tmp_path, "--rates", "100", "--seconds", "0.5", "--json")

    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (result["bench"], result["ledger"], result["lost"]) == ("ledger", "file", 0)
    group, per_fill = result["runs"]
    assert (group["mode"], per_fill["mode"]) == ("group", "per_fill")
    for run in (group, per_fill):
        assert run["fills"] == 50 and run["drained"]
        assert run["cpu_us_per_fill"] > 0 and 0 < run["fsyncs_per_fill"] <= 1
    assert per_fill["fsyncs_per_fill"] == 1.0  # one durable step per input


def test_bad_rates_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    proc = bench(tmp_path, "--rates", "fast")

    assert proc.returncode == 2 and "--rates takes positive numbers" in proc.stderr
    assert "Traceback" not in proc.stderr
