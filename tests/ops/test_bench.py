"""`alpha-panda bench pipeline`: a short, slow run reports every figure and loses nothing.

Benchmarks, not timed tests: no latency or throughput threshold is asserted here.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from ops.bench.latency import LatencyRecorder
from ops.bench.plot import Series, write_latency_plot
from ops.bench.saturation import verdict

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.timeout(90)
def test_a_short_run_prints_one_json_object_with_every_figure_and_no_loss(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ops.cli", "bench", "pipeline", "--rate", "200", "--seconds",
         "3", "--json", "--plot-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=80, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for field in ("p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms", "ticks_per_s",
                  "floor_ratio", "kafka_ratio", "floor_p50_ms", "kafka_p50_ms"):  # fmt: skip
        assert isinstance(result[field], int | float), field
        assert result[field] > 0, field
    assert result["lost"] == 0
    hops = result["hops"]
    assert hops["ticks_published"] == hops["ticks_into_strategies"] == 600
    assert hops["signals_expected"] == hops["signals"] == hops["fills_observed"] == 30
    assert hops["fills_in_ledger"] == 30 and hops["rejected"] == 0
    assert set(result["latency"]) == {"tick_to_signal", "tick_to_validated", "tick_to_fill"}
    assert result["peak_rss_mib"]["bench_process"] > 0
    cpu, floor = result["cpu"], result["floor"]["jetstream"]
    for figure in ("app_us_per_tick", "nats_server_us_per_tick", "floor_app_us_per_tick",
                   "floor_nats_server_us_per_tick", "app_floor_ratio"):  # fmt: skip
        assert cpu[figure] > 0, figure
    assert floor["cpu_us_per_tick"] == cpu["floor_app_us_per_tick"] and floor["p50_ms"] > 0
    assert png_size(tmp_path / "latency-200.png") == (960, 640)
    assert "[pipeline]" in proc.stderr  # the progress line


def test_a_latency_summary_is_in_milliseconds_with_every_percentile() -> None:
    rec = LatencyRecorder("x")
    for us in range(1, 1001):
        rec.record_ns(us * 1000)
    summary = rec.summary()
    assert summary["count"] == 1000
    assert summary["p50_ms"] == pytest.approx(0.5, abs=0.01)
    assert summary["p99_ms"] == pytest.approx(0.99, abs=0.01)
    assert summary["max_ms"] == pytest.approx(1.0, abs=0.01)
    assert rec.curve()[0][0] == 0.0


def test_a_plot_is_a_png_even_without_data(tmp_path: Path) -> None:
    write_latency_plot(tmp_path / "empty.png", "nothing", [Series("none", [])])
    assert png_size(tmp_path / "empty.png") == (960, 640)


def colors_in(path: Path) -> set[tuple[int, int, int]]:
    pixels = (mpimg.imread(path)[:, :, :3] * 255).round().astype(int)
    return {(int(r), int(g), int(b)) for r, g, b in pixels.reshape(-1, 3)}


def test_a_plot_draws_each_series_in_its_own_color(tmp_path: Path) -> None:
    curve = [(0.0, 0.5), (90.0, 0.9), (99.0, 1.4), (99.9, 3.0), (99.99, 5.0)]
    write_latency_plot(tmp_path / "one.png", "one", [Series("fill", curve)])
    write_latency_plot(tmp_path / "two.png", "two", [
        Series("fill", curve), Series("kafka", [(p, ms * 20) for p, ms in curve])])  # fmt: skip
    assert png_size(tmp_path / "two.png") == (960, 640)
    first, second = (31, 119, 180), (255, 127, 14)  # the first two colors of the cycle
    assert first in colors_in(tmp_path / "one.png") and second not in colors_in(
        tmp_path / "one.png"
    )
    assert {first, second} <= colors_in(tmp_path / "two.png")


def test_a_saturation_step_passes_only_without_loss_and_within_the_bounds() -> None:
    step = {"rate": 1000.0, "lost": 0, "ticks_per_s": 995.0, "max_strategy_lag_ticks": 40,
            "p99_ms": 12.0}  # fmt: skip
    assert verdict(step, max_p99_ms=50, min_keep_up=0.98) is None
    assert verdict({**step, "lost": 1}, 50, 0.98) == "lost 1"
    assert "p99" in (verdict({**step, "p99_ms": 80.0}, 50, 0.98) or "")
    assert "behind" in (verdict({**step, "max_strategy_lag_ticks": 5000}, 50, 0.98) or "")
    assert "took" in (verdict({**step, "ticks_per_s": 500.0}, 50, 0.98) or "")
