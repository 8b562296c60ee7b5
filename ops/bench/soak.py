"""`alpha-panda bench soak`: does memory stay flat while the default demo trades?

It runs `alpha-panda up` as a user would (embedded nats-server, paper broker, mock feed,
the packaged strategies: about 9 fills a second) in a throwaway data directory, samples the
resident memory (VmRSS) and CPU time of the app and of its nats-server from `/proc`, and
fits a least-squares line to the samples after a warm-up (imports, first snapshots,
indicator windows and the bounded id windows filling). The slope, MB a minute, is the
figure: a book or a dedup set that keeps one entry per order shows as a steady climb
(5.5 KB per order and fill was 2.7 MB a minute at the demo's rate). Target: < 0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import linear_regression
from typing import Any

from ops.bench.procstat import child_pids, cpu_model, cpu_s, rss_mib
from supervisors.embedded_nats import free_port

__all__ = ["SOAK_TARGET_MB_PER_MIN", "Samples", "run_soak", "slope_mb_per_min"]

SOAK_TARGET_MB_PER_MIN = 0.1
_MB = 1024 * 1024 / 1e6  # MiB -> MB (the target is in MB)


@dataclass
class Samples:
    """Time (s since start) and RSS (MiB) of one process."""

    t_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)

    def add(self, t: float, rss: float) -> None:
        if rss > 0:
            self.t_s.append(t)
            self.rss_mib.append(rss)

    def after(self, warmup_s: float) -> Samples:
        keep = [i for i, t in enumerate(self.t_s) if t >= warmup_s]
        return Samples([self.t_s[i] for i in keep], [self.rss_mib[i] for i in keep])


def slope_mb_per_min(s: Samples) -> float | None:
    """The least-squares slope of RSS over time, MB a minute; None under 3 samples."""
    if len(s.t_s) < 3 or len(set(s.t_s)) < 2:
        return None
    minutes = [t / 60 for t in s.t_s]
    megabytes = [m * _MB for m in s.rss_mib]
    return round(linear_regression(minutes, megabytes).slope, 4)


def _summary(all_samples: Samples, warmup_s: float, cpu: float, run_s: float) -> dict[str, Any]:
    kept = all_samples.after(warmup_s)
    rss = all_samples.rss_mib
    return {
        "rss_mb_start": round(rss[0] * _MB, 1) if rss else 0.0,
        "rss_mb_after_warmup": round(kept.rss_mib[0] * _MB, 1) if kept.rss_mib else 0.0,
        "rss_mb_end": round(rss[-1] * _MB, 1) if rss else 0.0,
        "rss_mb_max": round(max(rss) * _MB, 1) if rss else 0.0,
        "slope_mb_per_min": slope_mb_per_min(kept),
        "samples_after_warmup": len(kept.t_s),
        "cpu_s": round(cpu, 2),
        "cpu_pct": round(100 * cpu / run_s, 1) if run_s else 0.0,
    }


def _env(workdir: Path) -> dict[str, str]:
    outside = ("NATS_", "REDIS_", "DATABASE_", "KAFKA_", "ALPHA_PANDA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update(
        ALPHA_PANDA_DATA_DIR=str(workdir / "var"),
        ALPHA_PANDA_NATS_PORT=str(free_port()),
        ALPHA_PANDA_WEB_ADDR=f"127.0.0.1:{free_port()}",
        ALPHA_PANDA_ENV="dev",
        PYTHONUNBUFFERED="1",
    )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ops.cli", *args]


def _pipeline(reply: dict[str, Any] | list[dict[str, Any]]) -> dict[str, int]:
    """orders and fills from `alpha-panda status --json` (one reply, or one per process)."""
    totals = {"orders": 0, "fills": 0}
    for process in reply if isinstance(reply, list) else [reply]:
        for broker, figures in process.get("pipeline", {}).items():
            if broker != "market" and isinstance(figures, dict):
                for key in totals:
                    totals[key] += int(figures.get(key, 0) or 0)
    return totals


def _status(env: dict[str, str], cwd: Path) -> dict[str, int] | None:
    done = subprocess.run(_cli("status", "--json"), env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        return None
    try:
        return _pipeline(json.loads(done.stdout))
    except json.JSONDecodeError:
        return None


def _nats_pid(app: int, deadline_s: float) -> int | None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for pid in child_pids(app):
            try:
                if "nats-server" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(
                    errors="replace"
                ):
                    return pid
            except OSError:
                continue
        time.sleep(0.2)
    return None


def run_soak(
    minutes: float = 15.0,
    *,
    warmup_minutes: float | None = None,
    sample_s: float | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the demo for `minutes` and report both processes' RSS slope after the warm-up
    (default: 2 minutes, or a third of a shorter run)."""
    if minutes <= 0:
        raise ValueError("minutes must be > 0")
    warmup_s = 60 * (warmup_minutes if warmup_minutes is not None else min(2.0, minutes / 3))
    if not 0 <= warmup_s < minutes * 60:
        raise ValueError("the warm-up must be >= 0 and shorter than the run")
    every_s = sample_s if sample_s is not None else max(1.0, min(10.0, minutes * 60 / 60))
    with tempfile.TemporaryDirectory(prefix="ap-soak-") as tmp:
        workdir = Path(tmp)
        env = _env(workdir)
        log = (workdir / "up.log").open("wb")
        app = subprocess.Popen(_cli("up", "--quiet"), env=env, cwd=workdir, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            return _watch(app, env, workdir, minutes * 60, warmup_s, every_s, say)
        finally:
            if app.poll() is None:
                app.send_signal(signal.SIGINT)
                try:
                    app.wait(60)
                except subprocess.TimeoutExpired:
                    app.kill()
                    app.wait()
            log.close()


def _watch(
    app: subprocess.Popen[bytes], env: dict[str, str], workdir: Path, run_s: float,
    warmup_s: float, every_s: float, say: Callable[[str], None] | None,
) -> dict[str, Any]:  # fmt: skip
    nats = _nats_pid(app.pid, 30.0)
    if nats is None:
        tail = (workdir / "up.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"alpha-panda up started no nats-server: {tail}")
    app_s, nats_s = Samples(), Samples()
    started = time.monotonic()
    cpu0 = (cpu_s(app.pid), cpu_s(nats))
    at_warmup: dict[str, int] | None = None
    next_print = 0.0
    while (t := time.monotonic() - started) < run_s:
        if app.poll() is not None:
            tail = (workdir / "up.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"alpha-panda up exited ({app.returncode}) after {t:.0f} s: {tail}")
        app_s.add(t, rss_mib(app.pid))
        nats_s.add(t, rss_mib(nats))
        if at_warmup is None and t >= warmup_s:
            at_warmup = _status(env, workdir)
            at_warmup = {**(at_warmup or {}), "t": round(time.monotonic() - started)}
        if say is not None and t >= next_print:
            next_print = t + 60
            say(f"soak {t / 60:5.1f} min: app {app_s.rss_mib[-1] * _MB:.1f} MB, "
                f"nats-server {nats_s.rss_mib[-1] * _MB:.1f} MB")  # fmt: skip
        time.sleep(every_s)
    elapsed = time.monotonic() - started
    end = _status(env, workdir) or {}
    cpu = (cpu_s(app.pid) - cpu0[0], cpu_s(nats) - cpu0[1])
    window_s = elapsed - (at_warmup or {}).get("t", 0)
    fills = end.get("fills", 0) - (at_warmup or {}).get("fills", 0)
    result: dict[str, Any] = {
        "bench": "soak",
        "minutes": round(elapsed / 60, 2),
        "warmup_minutes": round(warmup_s / 60, 2),
        "sample_s": every_s,
        "orders": end.get("orders", 0),
        "fills": end.get("fills", 0),
        "fills_per_s_after_warmup": round(fills / window_s, 2) if window_s > 0 else 0.0,
        "app": _summary(app_s, warmup_s, cpu[0], elapsed),
        "nats_server": _summary(nats_s, warmup_s, cpu[1], elapsed),
        "target_mb_per_min": SOAK_TARGET_MB_PER_MIN,
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count()},
    }
    slope = result["app"]["slope_mb_per_min"]
    result["within_target"] = slope is not None and slope < SOAK_TARGET_MB_PER_MIN
    return result
