"""`alpha-panda bench pipeline`: tick → fill latency and throughput, beside two baselines.

One run = the full paper pipeline at a paced tick rate (`pipeline_phase`), then, at the
same rate, tick count and message sizes, the transport floor (`floor`: bare nats-py
relays, JetStream and core NATS) and a Kafka-per-hop chain (`kafka_chain`). Latency is
measured from the tick's envelope `ts` to the moment a probe sees each stage's output;
see docs/benchmarks.md for the exact definitions. Every phase starts its own servers.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import mean
from typing import Any, TypeVar

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from ops.bench.floor import run_floor
from ops.bench.kafka_chain import KAFKA_SETTINGS, run_kafka_chain
from ops.bench.pacing import MessageSizes
from ops.bench.pipeline_phase import PipelineRun, run_pipeline
from ops.bench.plot import Series, write_latency_plot
from ops.bench.servers import peak_rss_mib
from schemas.envelope import encode, headers_for, new_envelope
from supervisors.telemetry import tracing as telemetry_tracing
from supervisors.telemetry.tracing import TRACE_FILE_ENV

__all__ = ["run_pipeline_bench", "summarise_run", "tick_size"]

T = TypeVar("T")

_STAGES = (("tick_to_signal", "signal"), ("tick_to_validated", "validated"),
           ("tick_to_fill", "filled"))  # fmt: skip


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def tick_size(samples: int = 200) -> tuple[int, int]:
    """Mean encoded size of the feed's ticks (same seed as the bench) and of their headers."""
    feed = GbmFeed(list(InstrumentBook.default()), 7)
    sizes, header_sizes = [], []
    for n in range(samples):
        tick = feed.next_tick()
        env = new_envelope(tick, source="market-feed", key=str(tick.instrument_token))
        sizes.append(len(encode(env)))
        headers = headers_for(env, f"tick:7:{n}")
        header_sizes.append(sum(len(k) + len(v) + 4 for k, v in headers.items()))
    return round(mean(sizes)), round(mean(header_sizes))


def _lost_by_hop(run: PipelineRun) -> dict[str, int]:
    """Each hop's shortfall of outputs against what its inputs must produce."""
    b, probe = run.broker, run.probe
    into, signals = int(b.get("ticks", 0)), int(b.get("signals", 0))
    settled = probe["filled"].count + int(b.get("rejected", 0)) + int(b.get("orders_failed", 0))
    return {
        "feed_to_strategies": run.published - into,
        "strategies": into // run.every - signals,
        "signal_to_fill": signals - settled,
        "fill_to_ledger": probe["filled"].count - run.ledger_fills,
    }


def summarise_run(run: PipelineRun) -> dict[str, Any]:
    """The pipeline's figures: latencies per stage, throughput, per-hop counts, losses."""
    b, probe = run.broker, run.probe
    fill = probe["filled"].latency
    lost_by_hop = _lost_by_hop(run)
    into = int(b.get("ticks", 0))
    return {
        "rate": run.rate_per_s,
        "seconds": run.seconds,
        "every": run.every,
        **{k: v for k, v in fill.summary().items() if k != "count"},
        "ticks_per_s": round(into / run.strategies_s, 1) if run.strategies_s else 0.0,
        "lost": sum(max(0, v) for v in lost_by_hop.values()),
        "lost_by_hop": lost_by_hop,
        "drained": run.drained,
        "latency": {name: probe[stage].latency.summary() for name, stage in _STAGES},
        "hops": {
            "ticks_published": run.published,
            "ticks_into_strategies": into,
            "signals_expected": run.published // run.every,
            "signals": int(b.get("signals", 0)),
            "validated": int(b.get("validated", 0)),
            "rejected": int(b.get("rejected", 0)),
            "orders": int(b.get("orders", 0)),
            "orders_failed": int(b.get("orders_failed", 0)),
            "fills": int(b.get("fills", 0)),
            "fills_observed": probe["filled"].count,
            "fills_in_ledger": run.ledger_fills,
            "duplicates_observed": sum(s.duplicates for s in probe.stages.values()),
        },
        "max_strategy_lag_ticks": run.max_lag,
        "run_s": round(run.elapsed_s, 2),
        "peak_rss_mib": {"bench_process": peak_rss_mib(), "nats_server": run.server_rss_mib},
    }


def _sizes(run: PipelineRun) -> MessageSizes:
    tick, headers = tick_size()
    p = run.probe
    return MessageSizes(
        tick=tick, signal=p["signal"].mean_size, validated=p["validated"].mean_size,
        submitted=p["submitted"].mean_size, accepted=p["accepted"].mean_size,
        filled=p["filled"].mean_size, headers=headers,
    )  # fmt: skip


def _cpu_per_tick(cpu_s: float, ticks: int) -> float:
    """CPU of this process (every thread: the span exporter's too) per tick published, µs.
    Steadier than latency on a shared machine: other processes' load does not add to it."""
    return round(cpu_s / ticks * 1e6, 1) if ticks else 0.0


def _floor_cpu(run: Any) -> dict[str, float]:
    """The floor's CPU per tick: this process (source, relays, probe) and nats-server."""
    if run is None or not run.ticks:
        return {}
    return {
        "cpu_us_per_tick": _cpu_per_tick(run.app_cpu_s, run.ticks),
        "nats_server_cpu_us_per_tick": _cpu_per_tick(run.server_cpu_s, run.ticks),
        "ticks_per_s": run.ticks_per_s,
    }


def _compare_cpu(result: dict[str, Any]) -> None:
    """`cpu`: the pipeline's CPU per tick beside the JetStream floor's, from the same run."""
    floor = result.get("floor", {}).get("jetstream", {})
    cpu = result.setdefault("cpu", {})
    if "cpu_us_per_tick" in floor:
        cpu["floor_app_us_per_tick"] = floor["cpu_us_per_tick"]
        cpu["floor_nats_server_us_per_tick"] = floor["nats_server_cpu_us_per_tick"]
        cpu["app_floor_ratio"] = _ratio(cpu.get("app_us_per_tick", 0.0), floor["cpu_us_per_tick"])
        cpu["nats_server_floor_ratio"] = _ratio(
            cpu.get("nats_server_us_per_tick", 0.0), floor["nats_server_cpu_us_per_tick"]
        )


def _ratio(num: float, den: float) -> float:
    return round(num / den, 2) if den > 0 else 0.0


async def run_pipeline_bench(
    rate: float = 2000.0,
    seconds: float = 15.0,
    *,
    every: int = 20,
    baselines: bool = True,
    progress: bool = True,
    plot_dir: Path | None = None,
    feed_process: bool = False,
    tracing: bool = False,
    trace_ratio: float = 1.0,
) -> dict[str, Any]:
    """Run the pipeline and (unless `baselines` is False) both baselines; one JSON-able dict.

    With `tracing`, the pipeline runs a second time with tracing on (`trace_ratio` of the
    ticks start a trace, spans batched to a JSON-lines file) and `result["tracing"]`
    compares the two runs."""
    if rate <= 0 or seconds <= 0 or every < 1:
        raise ValueError("rate and seconds must be > 0 and every >= 1")
    say = _say if progress else None
    cpu = time.process_time()
    run = await run_pipeline(rate, seconds, every, progress=progress, feed_process=feed_process)
    result: dict[str, Any] = {
        "bench": "pipeline",
        **summarise_run(run),
        "cpu_us_per_tick": _cpu_per_tick(time.process_time() - cpu, run.published),
        "cpu": {
            # first tick published -> last fill stored, the floor's window too
            "app_us_per_tick": _cpu_per_tick(run.app_cpu_s, run.published),
            "nats_server_us_per_tick": _cpu_per_tick(run.server_cpu_s, run.published),
            "covers": "app: this process (the whole tree and the probe) plus the feed "
            "process with --feed-process; nats_server: from /proc/<pid>/stat",
        },
        "feed_process": feed_process,
    }
    sizes = _sizes(run)
    result["message_sizes"] = sizes.as_dict()
    series = [Series(f"pipeline {name.replace('_', '-')}", run.probe[stage].latency.curve())
              for name, stage in _STAGES]  # fmt: skip
    if tracing:
        result["tracing"] = await _traced_run(result, rate, seconds, every, feed_process,
                                              trace_ratio)  # fmt: skip
    if baselines:
        series += await _baselines(result, rate, seconds, every, sizes, say)
    else:
        result.update(floor_ratio=None, kafka_ratio=None)
    result["machine"] = {
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform(), "event_loop": _loop_name(),
    }  # fmt: skip
    if plot_dir is not None:
        path = plot_dir / f"latency-{int(rate)}.png"
        title = f"latency from the tick by percentile, {int(rate)} ticks/s for {seconds:g} s"
        write_latency_plot(path, title, series)
        result["plot"] = str(path)
    return result


async def _traced_run(
    off: dict[str, Any],
    rate: float,
    seconds: float,
    every: int,
    feed_process: bool,
    ratio: float,
) -> dict[str, Any]:
    """The same run with tracing on; its figures beside the untraced run's, and the ratios."""
    with tempfile.TemporaryDirectory(prefix="alpha-panda-trace-") as tmp:
        spans = Path(tmp) / "spans.jsonl"
        traces = telemetry_tracing.configure(
            "alpha-panda:bench", {TRACE_FILE_ENV: str(spans)}, ratio=ratio
        )
        try:
            cpu = time.process_time()
            run = await run_pipeline(rate, seconds, every, progress=False,
                                     feed_process=feed_process)  # fmt: skip
            on = summarise_run(run)
            on["cpu_us_per_tick"] = _cpu_per_tick(time.process_time() - cpu, run.published)
        finally:
            traces.shutdown()  # flushes every span before they are counted
        exported = sum(1 for _ in spans.open()) if spans.exists() else 0

    def figures(r: dict[str, Any]) -> dict[str, Any]:
        return {k: r[k] for k in ("p50_ms", "p99_ms", "ticks_per_s", "lost", "cpu_us_per_tick")}

    return {
        "off": figures(off),
        "on": figures(on),
        "sampled": ratio,
        "spans_exported": exported,
        "cpu_ratio": _ratio(on["cpu_us_per_tick"], off["cpu_us_per_tick"]),
        "p50_ratio": _ratio(on["p50_ms"], off["p50_ms"]),
        "p99_ratio": _ratio(on["p99_ms"], off["p99_ms"]),
        "latency_on": on["latency"],
    }


async def _baselines(
    result: dict[str, Any], rate: float, seconds: float, every: int, sizes: MessageSizes,
    say: Callable[[str], None] | None,
) -> list[Series]:  # fmt: skip
    """Run the floors and the Kafka chain; a baseline that fails is reported, not fatal."""
    limit_s = seconds + 90
    floor_js = run_floor("jetstream", rate, seconds, every, sizes, progress=say)
    js_run = await _guarded("floor_jetstream", floor_js, limit_s, result)
    floor_core = run_floor("core", rate, seconds, every, sizes, progress=say)
    core_run = await _guarded("floor_core_nats", floor_core, limit_s, result)
    js = js_run.probe if js_run is not None else None
    core = core_run.probe if core_run is not None else None
    chain = run_kafka_chain(rate, seconds, every, sizes, progress=say)
    kafka = await _guarded("kafka_chain", chain, limit_s, result)
    p50 = result["p50_ms"]
    series: list[Series] = []
    result["floor"] = {}
    if js is not None:
        fill = js["filled"].latency
        result["floor"]["jetstream"] = {**fill.summary(), **_floor_cpu(js_run)}
        _compare_cpu(result)
        result["floor_p50_ms"] = fill.percentile_ms(50)
        result["floor_ratio"] = _ratio(p50, result["floor_p50_ms"])
        series.append(Series("floor: jetstream relays", fill.curve()))
    if core is not None:
        fill = core["filled"].latency
        result["floor"]["core_nats"] = fill.summary()
        result["floor_core_ratio"] = _ratio(p50, fill.percentile_ms(50))
        series.append(Series("floor: core nats relays", fill.curve()))
    if kafka is not None:
        result["kafka"] = {"tick_to_fill": kafka["filled"].summary(), "settings": KAFKA_SETTINGS}
        result["kafka_p50_ms"] = kafka["filled"].percentile_ms(50)
        result["kafka_ratio"] = _ratio(result["kafka_p50_ms"], p50)
        series.append(Series("kafka-per-hop chain", kafka["filled"].curve()))
    result.setdefault("floor_ratio", None)
    result.setdefault("kafka_ratio", None)
    return series


async def _guarded(
    name: str, phase: Awaitable[T], limit_s: float, result: dict[str, Any]
) -> T | None:
    try:
        async with asyncio.timeout(limit_s):
            return await phase
    except Exception as exc:  # a broken baseline must not cost the pipeline's figures
        result.setdefault("baseline_errors", {})[name] = f"{type(exc).__name__}: {exc}"
        _say(f"{name}: failed: {type(exc).__name__}: {exc}")
        return None


def _loop_name() -> str:
    loop = asyncio.get_running_loop()
    return f"{type(loop).__module__}.{type(loop).__name__}"
