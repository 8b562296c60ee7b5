"""`alpha-panda bench pipeline --tracing`: the same run with tracing off and on, side by
side, and nothing lost in either. No timing is asserted: only that both figures exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(120)
def test_a_traced_run_is_reported_beside_the_untraced_one(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ops.cli", "bench", "pipeline", "--rate", "200", "--seconds",
         "2", "--no-baselines", "--tracing", "--json"],
        capture_output=True, text=True, timeout=110, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    traced = json.loads(proc.stdout.strip().splitlines()[-1])["tracing"]
    for run in ("off", "on"):
        assert traced[run]["lost"] == 0
        assert traced[run]["p50_ms"] > 0 and traced[run]["cpu_us_per_tick"] > 0
    # 400 ticks, each a feed span and a strategies span at least; signals and fills more
    assert traced["spans_exported"] >= 800
    assert traced["sampled"] == 1.0 and traced["cpu_ratio"] > 0
