"""`alpha-panda bench soak`: a short run of the demo reports every figure, sanely.

No slope is asserted: half a minute says nothing about a trading day (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.bench.soak import Samples, slope_mb_per_min


def test_the_slope_is_the_least_squares_line_in_mb_a_minute() -> None:
    mib = 1e6 / (1024 * 1024)  # 1 MB in MiB
    flat = Samples([0, 60, 120], [50.0, 50.0, 50.0])
    rising = Samples([0, 60, 120, 180], [50.0, 50 + mib, 50 + 2 * mib, 50 + 3 * mib])
    assert slope_mb_per_min(flat) == 0
    assert slope_mb_per_min(rising) == pytest.approx(1.0)
    assert slope_mb_per_min(Samples([0, 60], [1.0, 2.0])) is None  # too few to fit
    assert rising.after(90).t_s == [120, 180]


@pytest.mark.timeout(120)
def test_a_short_soak_reports_both_processes_memory_and_the_fills(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ops.cli", "bench", "soak", "--minutes", "0.5",
         "--warmup-minutes", "0.1", "--sample-s", "1", "--json"],
        capture_output=True, text=True, timeout=110, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["bench"] == "soak" and result["minutes"] >= 0.5
    assert result["fills"] > 0 and result["orders"] >= result["fills"] / 10
    for name in ("app", "nats_server"):
        figures = result[name]
        assert 0 < figures["rss_mb_start"] <= figures["rss_mb_max"], name
        assert figures["samples_after_warmup"] >= 3 and figures["cpu_s"] > 0, name
        assert isinstance(figures["slope_mb_per_min"], float), name
    assert result["target_mb_per_min"] == 0.1 and isinstance(result["within_target"], bool)
    assert result["machine"]["cpu"]


def test_a_soak_without_time_to_run_is_refused_plainly() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ops.cli", "bench", "soak", "--minutes", "0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "minutes must be > 0" in proc.stderr and "Traceback" not in proc.stderr
