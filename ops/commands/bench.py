"""`alpha-panda bench pipeline|bridge|backtest|ledger|soak [--json]`: benchmarks, throwaway servers.

`--json` prints one JSON object as the last line of stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ops.commands.common import run_async

__all__ = ["register", "render_pipeline", "render_backtest", "render_ledger", "render_soak"]

_COLUMNS = ("p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="benchmarks (each starts the servers it needs)")
    bench = p.add_subparsers(dest="bench_command", metavar="BENCH", required=True)
    pipe = bench.add_parser(
        "pipeline", help="tick-to-fill latency and throughput of the paper pipeline"
    )
    pipe.add_argument("--rate", type=float, default=2000.0, help="ticks per second")
    pipe.add_argument("--seconds", type=float, help="ticks for this long (15; 30 --saturate)")
    pipe.add_argument(
        "--every", type=int, help="one signal per EVERY ticks (20; 1000 with --saturate)"
    )
    pipe.add_argument("--no-baselines", action="store_true", help="skip floor and Kafka runs")
    pipe.add_argument(
        "--saturate", action="store_true", help="find the highest rate sustained, from --rate up"
    )
    pipe.add_argument(
        "--max-p99-ms", type=float, default=50.0, help="--saturate: tick-to-fill p99 bound"
    )
    pipe.add_argument(
        "--feed-process", action="store_true", help="run the market feed in its own process"
    )
    pipe.add_argument("--plot-dir", type=Path, help="write latency-<rate>.png there")
    pipe.add_argument(
        "--tracing", action="store_true", help="run again with tracing on and compare the two"
    )
    pipe.add_argument(
        "--trace-ratio", type=float, default=1.0, help="--tracing: share of ticks traced (1.0)"
    )
    pipe.add_argument("--json", action="store_true", help="print one JSON object as last line")
    pipe.set_defaults(func=_pipeline)
    bridge = bench.add_parser("bridge", help="how fast the bridge mirrors JetStream into Kafka")
    bridge.add_argument("--messages", type=int, default=50000, help="messages to mirror")
    bridge.add_argument("--json", action="store_true", help="print one JSON object as last line")
    bridge.set_defaults(func=_bridge)
    backtest = bench.add_parser(
        "backtest", help="ticks per second of strategies over history, with backtrader as anchor"
    )
    backtest.add_argument(
        "--quick", action="store_true", help="5 instruments x 5 sessions instead of 50 x 250"
    )
    backtest.add_argument("--json", action="store_true", help="print one JSON object as last line")
    backtest.set_defaults(func=_backtest)
    ledger = bench.add_parser(
        "ledger", help="the ledger's CPU and fsyncs per fill at several fill rates"
    )
    ledger.add_argument(
        "--rates", default="20,100,500,2000", help="fills per second, comma-separated"
    )
    ledger.add_argument("--seconds", type=float, default=5.0, help="fills for this long per run")
    ledger.add_argument(
        "--database-url", help="measure the PostgreSQL ledger there instead of the file ledger"
    )
    ledger.add_argument("--json", action="store_true", help="print one JSON object as last line")
    ledger.set_defaults(func=_ledger)
    soak = bench.add_parser(
        "soak", help="RSS slope of the app and nats-server while the default demo trades"
    )
    soak.add_argument("--minutes", type=float, default=15.0, help="length of the run (15)")
    soak.add_argument(
        "--warmup-minutes", type=float, help="samples before this are not fitted (2, or a third)"
    )
    soak.add_argument("--sample-s", type=float, help="seconds between samples (up to 10)")
    soak.add_argument("--json", action="store_true", help="print one JSON object as last line")
    soak.set_defaults(func=_soak)


def _backtest(args: argparse.Namespace) -> int:
    try:
        from ops.bench.backtest_bench import run_backtest_bench
    except ImportError as exc:  # numpy or backtrader missing: the dev extra
        print(f"alpha-panda: the backtest benchmark needs the dev extra ({exc}); "
              "pip install -e '.[dev]'", file=sys.stderr)  # fmt: skip
        return 2

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = run_backtest_bench(quick=args.quick, say=say)
    except ImportError as exc:
        print(f"alpha-panda: the backtest benchmark needs the dev extra ({exc}); "
              "pip install -e '.[dev]'", file=sys.stderr)  # fmt: skip
        return 2
    print(json.dumps(result) if args.json else render_backtest(result))
    return 0


def _soak(args: argparse.Namespace) -> int:
    from ops.bench.soak import run_soak

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = run_soak(args.minutes, warmup_minutes=args.warmup_minutes,
                          sample_s=args.sample_s, say=say)  # fmt: skip
    except ValueError as exc:
        print(f"alpha-panda: bench soak: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"alpha-panda: bench soak: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else render_soak(result))
    return 0


def render_soak(r: dict[str, Any]) -> str:
    """A short human summary of a soak run."""
    lines = [f"soak: {r['minutes']:g} min of the default demo ({r['fills']:,} fills, "
             f"{r['fills_per_s_after_warmup']} fills/s after a {r['warmup_minutes']:g} min "
             f"warm-up) on {r['machine']['cpu']}"]  # fmt: skip
    for name in ("app", "nats_server"):
        p = r[name]
        lines.append(f"  {name:<12} RSS {p['rss_mb_after_warmup']} -> {p['rss_mb_end']} MB, "
                     f"slope {p['slope_mb_per_min']} MB/min, CPU {p['cpu_pct']} %")  # fmt: skip
    verdict = "within" if r["within_target"] else "NOT within"
    lines.append(f"  app slope {verdict} the target of {r['target_mb_per_min']} MB/min")
    return "\n".join(lines)


def render_backtest(r: dict[str, Any]) -> str:
    """A short human summary of a backtest benchmark."""
    g, a = r["generated"], r["backtrader"]
    lines = [f"backtest bench, one core (headline: {r['mode']})"]
    generated = f"generated {g['instruments']} x {g['sessions']} sessions"
    for label, runs in (("shipped sample", r["sample"]), (generated, g)):
        for name, what in (("one_ma", "1 MA"), ("five", "5 strategies")):
            for path, f in runs[name].items():
                lines.append(f"  {label:<30} {what:<12} {path:<13} {f['ticks_per_s']:>9,} "
                             f"ticks/s ({f['ticks']:,} ticks, {f['seconds']} s)")  # fmt: skip
    lines.append(f"  backtrader SMA 5/20 crossover, {a['bars']:,} bars: "
                 f"{a['backtrader_bars_per_s']:,} bars/s")  # fmt: skip
    for path in ("strategy_only", "engine"):
        if path in a:
            lines.append(f"    ours ({path}) {a[path]['bars_per_s']:,} bars/s: "
                         f"ratio {a[path]['ratio']}")  # fmt: skip
    lines.append(f"ticks_per_s {r['ticks_per_s']:,}  backtrader_ratio {r['backtrader_ratio']}")
    return "\n".join(lines)


def _ledger(args: argparse.Namespace) -> int:
    from ops.bench.ledger_bench import run_ledger_bench

    _quiet_libraries()
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        rates = []
    if not rates or min(rates) <= 0 or args.seconds <= 0:
        print("alpha-panda: --rates takes positive numbers (e.g. 20,100,500) and --seconds "
              "must be > 0", file=sys.stderr)  # fmt: skip
        return 2

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = run_async(
        run_ledger_bench(rates, args.seconds, database_url=args.database_url, say=say)
    )
    print(json.dumps(result) if args.json else render_ledger(result))
    return 0 if result["lost"] == 0 else 1


def render_ledger(r: dict[str, Any]) -> str:
    """A table of the ledger bench: one line per rate and mode."""
    lines = [f"ledger bench ({r['ledger']} ledger, {r['seconds']:g} s per run)",
             "    mode     rate  fills/s  CPU µs/fill  ledger-thread µs/fill  fsyncs/fill  "
             "commits/fill  nats µs/fill"]  # fmt: skip
    for x in r["runs"]:
        io = x.get("ledger_io_cpu_us_per_fill", "-")
        fsyncs = x.get("fsyncs_per_fill", "-")
        lines.append(f"{x['mode']:>8} {x['rate']:>8.0f} {x['fills_per_s']:>8} "
                     f"{x['cpu_us_per_fill']:>12} {io:>22} {fsyncs:>12} "
                     f"{x['commits_per_fill']:>13} {x['nats_cpu_us_per_fill']:>13}")  # fmt: skip
    return "\n".join(lines)


def _quiet_libraries() -> None:
    """Progress lines are the output; the servers' clients' INFO chatter is not."""
    for name in ("aiokafka", "actors", "supervisors", "ops"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _pipeline(args: argparse.Namespace) -> int:
    _quiet_libraries()
    if args.every is None:
        args.every = 1000 if args.saturate else 20
    if args.rate <= 0 or args.every < 1 or (args.seconds is not None and args.seconds <= 0):
        print("alpha-panda: --rate and --seconds must be > 0, --every >= 1", file=sys.stderr)
        return 2
    try:
        result = _run_pipeline(args)
    except FileNotFoundError as exc:  # no Tansu for the Kafka baseline: the dev extra
        print(f"alpha-panda: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else render_pipeline(result))
    return 0 if result.get("lost") == 0 else 1


def _run_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    if args.saturate:
        from ops.bench.saturation import run_saturation

        result = run_async(
            run_saturation(args.rate, args.seconds or 30.0, every=args.every,
                           max_p99_ms=args.max_p99_ms, feed_process=args.feed_process)
        )  # fmt: skip
    else:
        from ops.bench.pipeline_bench import run_pipeline_bench

        result = run_async(
            run_pipeline_bench(args.rate, args.seconds or 15.0, every=args.every,
                               baselines=not args.no_baselines, plot_dir=args.plot_dir,
                               feed_process=args.feed_process, tracing=args.tracing,
                               trace_ratio=args.trace_ratio)
        )  # fmt: skip
    return result


def render_pipeline(r: dict[str, Any]) -> str:
    """A short human summary of a pipeline or saturation result."""
    if r.get("bench") == "pipeline-saturation":
        lines = [f"{s['rate']:>8.0f} ticks/s  {s['failed'] or 'sustained'}" for s in r["steps"]]
        lines.append(f"highest sustained rate: {r['max_sustained_ticks_per_s']:.0f} ticks/s")
        return "\n".join(lines)
    lines = [f"pipeline at {r['rate']:.0f} ticks/s for {r['seconds']:g} s "
             f"({r['ticks_per_s']:.0f} ticks/s into the strategies), lost {r['lost']}"]  # fmt: skip
    for name, s in r["latency"].items():
        figures = "  ".join(f"{k[:-3].replace('_', '.')} {s[k]:.3f}" for k in _COLUMNS)
        lines.append(f"  {name:<18} {figures} ms")
    if r.get("tracing"):
        t = r["tracing"]
        lines.append(f"  tracing off: p50 {t['off']['p50_ms']} ms p99 {t['off']['p99_ms']} ms; "
                     f"on: p50 {t['on']['p50_ms']} ms p99 {t['on']['p99_ms']} ms "
                     f"({t['sampled']:.0%} sampled, {t['spans_exported']} spans, lost "
                     f"{t['on']['lost']}): CPU/tick {t['off']['cpu_us_per_tick']} → "
                     f"{t['on']['cpu_us_per_tick']} µs (ratio {t['cpu_ratio']}), p50 ratio "
                     f"{t['p50_ratio']}, p99 ratio {t['p99_ratio']}")  # fmt: skip
    if r.get("floor_ratio") is not None:
        lines.append(f"  floor (jetstream relays) p50 {r['floor_p50_ms']} ms: floor_ratio "
                     f"{r['floor_ratio']}")  # fmt: skip
        lines.append(f"  kafka-per-hop chain p50 {r['kafka_p50_ms']} ms: kafka_ratio "
                     f"{r['kafka_ratio']}")  # fmt: skip
    return "\n".join(lines)


def _bridge(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module("ops.bench.bridge_bench")
    except ImportError as exc:
        print(f"alpha-panda: the bridge benchmark is not available in this build "
              f"(ops.bench.bridge_bench: {exc})", file=sys.stderr)  # fmt: skip
        return 1
    try:
        outcome = module.run_bridge_bench(args.messages, not args.json)
        result: dict[str, Any] = run_async(outcome) if inspect.iscoroutine(outcome) else outcome
    except FileNotFoundError as exc:  # no Tansu: the benchmarks need the dev extra
        print(f"alpha-panda: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0 if result.get("lost", 0) == 0 and result.get("duplicates", 0) == 0 else 1
