"""Saturation: the highest tick rate the pipeline sustains with zero loss and bounded latency.

A rate passes when a run of `seconds` at it ends with nothing lost, every tick into the
strategies at no less than `min_keep_up` of the rate, the strategies never more than one
second of ticks behind, and tick → fill p99 within `max_p99_ms`. The search raises the
rate by `growth` until a run fails, then bisects between the last pass and the first
failure `refine` times. Baselines are not run here.
"""

from __future__ import annotations

import sys
from typing import Any

from ops.bench.pipeline_bench import summarise_run
from ops.bench.pipeline_phase import run_pipeline

__all__ = ["run_saturation", "verdict"]


def verdict(step: dict[str, Any], max_p99_ms: float, min_keep_up: float) -> str | None:
    """None when the step passes, else why it does not."""
    rate = float(step["rate"])
    if step["lost"]:
        return f"lost {step['lost']}"
    if step["ticks_per_s"] < rate * min_keep_up:
        return f"strategies took {step['ticks_per_s']:.0f}/s of {rate:.0f}/s"
    if step["max_strategy_lag_ticks"] > rate:
        return f"strategies fell {step['max_strategy_lag_ticks']} ticks (> 1 s) behind"
    if step["p99_ms"] > max_p99_ms:
        return f"tick-to-fill p99 {step['p99_ms']} ms > {max_p99_ms:g} ms"
    return None


async def run_saturation(
    start_rate: float = 2000.0,
    seconds: float = 30.0,
    *,
    every: int = 20,
    growth: float = 1.5,
    refine: int = 2,
    max_rate: float = 100_000.0,
    max_p99_ms: float = 50.0,
    min_keep_up: float = 0.98,
    progress: bool = True,
    feed_process: bool = False,
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    async def attempt(rate: float) -> bool:
        run = await run_pipeline(
            rate, seconds, every, progress=progress, label=f"{rate:.0f}/s",
            feed_process=feed_process,
        )  # fmt: skip
        step = summarise_run(run)
        step["failed"] = verdict(step, max_p99_ms, min_keep_up)
        steps.append(step)
        if progress:
            outcome = step["failed"] or "sustained"
            print(f"saturation: {rate:.0f} ticks/s for {seconds:g} s: {outcome}",
                  file=sys.stderr, flush=True)  # fmt: skip
        return step["failed"] is None

    passed: float | None = None
    failed: float | None = None
    rate = start_rate
    while rate <= max_rate:
        if await attempt(rate):
            passed = rate
            rate = round(rate * growth, -2)
        else:
            failed = rate
            break
    for _ in range(refine):
        if passed is None or failed is None:
            break
        middle = round((passed + failed) / 2, -2)
        if middle in (passed, failed):
            break
        if await attempt(middle):
            passed = middle
        else:
            failed = middle
    best = next((s for s in steps if s["rate"] == passed), None)
    return {
        "bench": "pipeline-saturation",
        "max_sustained_ticks_per_s": passed or 0.0,
        "first_failing_rate": failed,
        "seconds": seconds,
        "every": every,
        "feed_process": feed_process,
        "criteria": {
            "lost": 0,
            "min_keep_up": min_keep_up,
            "max_lag_s": 1.0,
            "max_p99_ms": max_p99_ms,
        },
        "lost": best["lost"] if best else None,
        "p50_ms": best["p50_ms"] if best else None,
        "p99_ms": best["p99_ms"] if best else None,
        "ticks_per_s": best["ticks_per_s"] if best else 0.0,
        "steps": steps,
    }
