"""`alpha-panda bench backtest --quick --json`: the figures are there (no timing thresholds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ops.bench.backtest_bench import generate_candles


def test_quick_bench_reports_every_figure(tmp_path: Path) -> None:
    pytest.importorskip("backtrader")
    run = subprocess.run(
        [sys.executable, "-m", "ops.cli", "bench", "backtest", "--quick", "--json"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=110,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["bench"] == "backtest"
    assert result["ticks_per_s"] > 0
    assert result["backtrader_ratio"] > 0
    assert result["five_ticks_per_s"] > 0
    assert result["mode"] == "engine"
    paths = ["strategy_only", "engine"]
    for runs in (result["sample"], result["generated"]):
        for name in ("one_ma", "five"):
            assert sorted(runs[name]) == sorted(paths)
            for path in paths:
                figures = runs[name][path]
                assert figures["ticks"] > 0
                # the strategies traded: the ticks reached them (fills through the engine)
                assert figures["signals" if path == "strategy_only" else "fills"] > 0
    assert result["sample"]["one_ma"]["strategy_only"]["ticks"] == 52_500
    assert result["generated"]["candles"] == 5 * 5 * 375
    anchor = result["backtrader"]
    assert anchor["bars"] == 5 * 375
    assert anchor["backtrader_orders"] > 0
    key = "engine"
    assert result["backtrader_ratio"] == anchor[key]["ratio"]
    assert result["ticks_per_s"] == result["generated"]["one_ma"][key]["ticks_per_s"]
    assert "shipped sample" in run.stderr  # progress on stderr


def test_generated_candles_are_deterministic_and_well_formed() -> None:
    np = pytest.importorskip("numpy")
    a, b = generate_candles(3, 2, seed=5), generate_candles(3, 2, seed=5)
    assert np.array_equal(a.close, b.close)
    assert not np.array_equal(a.close, generate_candles(3, 2, seed=6).close)
    assert (a.high >= np.maximum(a.open, a.close)).all()
    assert (a.low <= np.minimum(a.open, a.close)).all()
    assert (a.low > 0).all()
    assert (a.close % 5 == 0).all()  # on the 0.05 grid, in paise
    assert a.session_start_ns(5) - a.session_start_ns(4) == 3 * 86_400 * 10**9  # over a weekend
