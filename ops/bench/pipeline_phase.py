"""One run of the full paper pipeline under a paced tick load, watched by a probe.

The tree is the real one (`ops.tree.build_tree`: control gate, market feed, strategy
runner, risk manager, paper execution, portfolio with its file ledger), on a throwaway
nats-server with the `dev` stream overlay, in this process and event loop. The only
bench-specific parts are the configuration: one `bench` strategy over every instrument
that signals on every `every`-th tick, and risk limits set out of reach so that nothing is
rejected (rejections would still be counted, apart from losses).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from actors.feed.actor import FeedConfig
from actors.instruments import InstrumentBook
from actors.paper.matching import PaperConfig
from actors.risk.limits import RiskLimits
from actors.stores.shared import Stores
from actors.strategies.config import StrategyConfig
from ops.bench.probe import Probe, Stage
from ops.bench.procstat import child_pids, cpu_s
from ops.bench.servers import ServerProcess, start_nats
from ops.bench.strategy import BenchParams
from ops.bootstrap import bootstrap_streams
from ops.config_loading import DomainConfig
from ops.settings import Settings, load_settings
from ops.tree import ROLES, build_tree
from schemas.names import (
    MARKET_STREAM,
    ORDERS_ACCEPTED,
    ORDERS_FILLED,
    ORDERS_SUBMITTED,
    SIGNALS_RAW,
    SIGNALS_VALIDATED,
    Broker,
    broker_subject,
)
from supervisors.bus import Bus
from supervisors.launcher import pipeline_figures
from supervisors.supervisor import Supervisor

__all__ = ["PipelineRun", "run_pipeline", "bench_domain"]

_BROKER: Broker = "paper"
_OUT_OF_REACH = Decimal("1e15")


class _Sig(msgspec.Struct):
    tick_ts: int = 0


class _Val(msgspec.Struct):
    signal: _Sig


class _Env(msgspec.Struct):
    data: _Sig


class _ValEnv(msgspec.Struct):
    data: _Val


_sig_decoder = msgspec.json.Decoder(_Env)
_val_decoder = msgspec.json.Decoder(_ValEnv)


def _signal_tick_ts(raw: bytes) -> int:
    return _sig_decoder.decode(raw).data.tick_ts  # signals and fills carry `tick_ts`


def _validated_tick_ts(raw: bytes) -> int:
    return _val_decoder.decode(raw).data.signal.tick_ts


def bench_domain(rate_per_s: float, ticks: int, every: int) -> DomainConfig:
    """The bench configuration: one strategy over every instrument, risk out of reach."""
    book = InstrumentBook.default()
    strategy = StrategyConfig(
        id="bench", type="bench", instruments=tuple(book), params=BenchParams(every=every)
    )
    limits = RiskLimits(
        max_order_notional=_OUT_OF_REACH, max_position_qty=10**12,
        max_gross_exposure=_OUT_OF_REACH, max_open_orders=10**9,
        rate_limit_per_s=_OUT_OF_REACH, burst=10**9, price_collar_pct=Decimal(100),
        daily_loss_limit=_OUT_OF_REACH,
    )  # fmt: skip
    feed = FeedConfig(mode="mock", seed=7, rate_per_s=rate_per_s, max_ticks=ticks)
    return DomainConfig(book, (strategy,), limits, PaperConfig(), feed, "bench")


@dataclass
class PipelineRun:
    """What one run measured; `figures` are the actors' own counters at the end."""

    rate_per_s: float
    seconds: float
    every: int
    probe: Probe
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledger_fills: int = 0
    elapsed_s: float = 0.0  # first tick published → last fill stored (or the drain timeout)
    strategies_s: float = 0.0  # first tick published → the last tick into the strategies
    drained: bool = False
    max_lag: int = 0
    server_rss_mib: float = 0.0
    app_cpu_s: float = 0.0  # this process plus the feed process, first tick -> drained
    server_cpu_s: float = 0.0  # nats-server, the same window

    @property
    def published(self) -> int:
        return int(self.figures.get("market", {}).get("ticks", 0))

    @property
    def broker(self) -> dict[str, Any]:
        return self.figures.get(_BROKER, {})


def _settings(workdir: Path, feed_process: bool = False) -> Settings:
    return load_settings(
        _env_file=None, brokers_csv=_BROKER, data_dir=workdir, env="dev", api_token=None,
        nats_url=None, redis_url=None, database_url=None, pnl_interval_s=5.0,
        feed_process=feed_process,
    )  # fmt: skip


def _progress(run: PipelineRun, t: float, label: str) -> None:
    b, fill = run.broker, run.probe["filled"].latency
    line = (
        f"[{label}] {t:5.1f}s  ticks {run.published:>8,}  into strategies {b.get('ticks', 0):>8,}"
        f"  signals {b.get('signals', 0):>6,}  fills {run.probe['filled'].count:>6,}"
        f"  fill p50 {fill.percentile_ms(50):.2f} ms p99 {fill.percentile_ms(99):.2f} ms"
    )
    print(line, file=sys.stderr, flush=True)


async def run_pipeline(
    rate_per_s: float, seconds: float, every: int, *, progress: bool, label: str = "pipeline",
    feed_process: bool = False,
) -> PipelineRun:  # fmt: skip
    """Run the pipeline for `seconds` of ticks at `rate_per_s`, then let it drain.

    With `feed_process`, the market feed runs in a process of its own, as `up` runs it with
    ALPHA_PANDA_FEED_PROCESS=1 (`ops.feed_process`).
    """
    ticks = max(every, round(rate_per_s * seconds))
    server = await start_nats()
    bus = await Bus.connect(server.url, name="bench-pipeline")
    probe_bus = await Bus.connect(server.url, name="bench-probe")
    stages = [
        Stage("signal", broker_subject(_BROKER, SIGNALS_RAW), _signal_tick_ts),
        Stage("validated", broker_subject(_BROKER, SIGNALS_VALIDATED), _validated_tick_ts),
        Stage("filled", broker_subject(_BROKER, ORDERS_FILLED), _signal_tick_ts),
        Stage("submitted", broker_subject(_BROKER, ORDERS_SUBMITTED)),
        Stage("accepted", broker_subject(_BROKER, ORDERS_ACCEPTED)),
    ]
    run = PipelineRun(rate_per_s, seconds, every, Probe(probe_bus.nc, stages))
    stores = Stores(None, None, server.workdir / "data")
    try:
        await bootstrap_streams(bus, "dev")
        await run.probe.start()
        domain = bench_domain(rate_per_s, ticks, every)
        settings = _settings(server.workdir, feed_process)
        root = Supervisor(build_tree(bus, settings, ROLES, domain, stores))
        ready = asyncio.Event()
        task = asyncio.create_task(root.run(ready.set), name="bench-root")
        try:
            cpu = _CpuWindow(server, feed_process)
            await _watch(run, root, task, ticks, stores, progress, label,
                         bus if feed_process else None, cpu)  # fmt: skip
        finally:
            root.request_stop()
            await task
        run.figures = pipeline_figures(root.status())
        if feed_process:
            run.figures["market"] = {"ticks": await bus.stream_last_seq(MARKET_STREAM.name)}
        run.ledger_fills = await (await stores.ledger()).count_fills(_BROKER)
    finally:
        await run.probe.close()
        await probe_bus.close()
        await bus.close()
        await stores.close()
        await _stop(server, run)
    return run


class _CpuWindow:
    """CPU of this process, the feed process and nats-server from `start()` to `stop()`."""

    def __init__(self, server: ServerProcess, feed_process: bool) -> None:
        self.server, self.feed_process = server, feed_process
        self._at: tuple[float, float, float] | None = None

    def _feed_cpu_s(self) -> float:
        """The feed child's CPU (`up`'s feed process: every child but nats-server)."""
        if not self.feed_process:
            return 0.0
        own = self.server.proc.pid
        return sum(cpu_s(pid) for pid in child_pids(os.getpid()) if pid != own)

    def _now(self) -> tuple[float, float, float]:
        feed = self._feed_cpu_s()
        return time.process_time(), feed, self.server.cpu_now_s()

    def start(self) -> None:
        if self._at is None:
            self._at = self._now()

    def stop(self, run: PipelineRun) -> None:
        if self._at is None:
            return
        app, feed, server = self._now()
        run.app_cpu_s = app - self._at[0] + max(0.0, feed - self._at[1])
        run.server_cpu_s = server - self._at[2]


async def _stop(server: ServerProcess, run: PipelineRun) -> None:
    await server.stop()
    run.server_rss_mib = server.peak_rss_mib


async def _watch(
    run: PipelineRun, root: Supervisor, task: asyncio.Task[None], ticks: int, stores: Stores,
    progress: bool, label: str, market: Bus | None, cpu: _CpuWindow,
) -> None:  # fmt: skip
    """Poll the actors' counters until every tick is through and every fill is stored.

    `market`: count the published ticks in the MARKET stream (the feed runs elsewhere).
    """
    expected_fills = ticks // run.every
    started: float | None = None
    last_print = 0.0
    drain_deadline: float | None = None
    loop = asyncio.get_running_loop()
    while not task.done():
        await asyncio.sleep(0.05)
        now = loop.time()
        run.figures = pipeline_figures(root.status())
        if market is not None:
            run.figures["market"] = {"ticks": await market.stream_last_seq(MARKET_STREAM.name)}
        published, into = run.published, int(run.broker.get("ticks", 0))
        if started is None and published:
            started = now
            cpu.start()
        run.max_lag = max(run.max_lag, published - into)
        if progress and now - last_print >= 1.0:
            last_print = now
            _progress(run, now - (started or now), label)
        if run.figures.get("market", {}).get("ticks", 0) < ticks:
            continue
        if drain_deadline is None:
            drain_deadline = now + max(30.0, run.seconds)
        if not run.strategies_s and into >= published:
            run.strategies_s = now - (started or now)
        fills = run.probe["filled"].count + int(run.broker.get("rejected", 0))
        if into >= published and fills >= expected_fills:
            ledger = await (await stores.ledger()).count_fills(_BROKER)
            if ledger >= run.probe["filled"].count:
                run.elapsed_s = now - (started or now)
                run.drained = True
                cpu.stop(run)
                return
        if now > drain_deadline:
            run.elapsed_s = now - (started or now)
            cpu.stop(run)
            return
    await task  # the tree ended on its own: surface its error
    raise RuntimeError("the pipeline's supervision tree stopped before the run ended")
