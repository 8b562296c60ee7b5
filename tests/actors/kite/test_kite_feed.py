"""The Kite feed end to end: `alpha-panda sim kite`, the official KiteTicker in a child
process (`kite_feed_probe.py`: Twisted's reactor runs once per process), and a real NATS.
Ticks must arrive on `market.ticks.<token>` exactly as the simulator streamed them; a
dropped or stalled feed must recover, a bad packet must be dead-lettered, and the access
token must appear in no log line, Twisted's and autobahn's included."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from ops.bootstrap import bootstrap_streams
from schemas.envelope import decode_as
from schemas.events import DeadLetter, MarketTick
from schemas.names import MARKET_TICKS_ALL, dlq_subject, tick_subject
from supervisors.bus import Bus
from tests.conftest import NatsServer
from tests.ops.sim.conftest import RunningSim, start_sim

PROBE = Path(__file__).with_name("kite_feed_probe.py")
INFY = 408065
FAST = {"backoff_min_s": 0.02, "backoff_max_s": 0.2}
DEADLINE_S = 20.0


@pytest.fixture
def kite_sim() -> Iterator[RunningSim]:
    with start_sim() as sim:
        yield sim


@pytest.fixture
async def market_bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    bus = await Bus.connect(fresh_nats.url, name="tests")
    await bootstrap_streams(bus, "test")
    yield bus
    await bus.close()


@dataclass
class Heard:
    ticks: list[tuple[float, str, MarketTick]] = field(default_factory=list)

    def after(self, at: float) -> list[MarketTick]:
        return [t for when, _, t in self.ticks if when > at]


@dataclass
class Probe:
    stats_path: Path
    sim: RunningSim

    def stats(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.stats_path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def kite(self) -> dict[str, Any]:
        return dict(self.stats().get("kite", {}))

    def fault(self, **faults: object) -> None:
        self.sim.faults(**faults)


async def until(check: Any, what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def kite_feed(
    sim: RunningSim, nats_url: str, tmp_path: Path, **kite: object
) -> AsyncIterator[Probe]:
    """The feed running in a child process until the block ends; then its logs are checked."""
    block = kite.pop("block_loop_s", 0)
    args = {
        "nats_url": nats_url, "env": sim.env, "kite": FAST | kite, "block_loop_s": block,
        "stats_path": str(tmp_path / "stats.json"), "stop_path": str(tmp_path / "stop"),
    }  # fmt: skip
    out, err = tmp_path / "probe.out", tmp_path / "probe.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(PROBE), json.dumps(args), stdout=stdout, stderr=stderr
        )
    try:
        yield Probe(tmp_path / "stats.json", sim)
    finally:
        (tmp_path / "stop").touch()
        code = await asyncio.wait_for(proc.wait(), 30)
    logs = out.read_text() + err.read_text()
    assert code == 0, logs[-3000:]
    assert json.loads(out.read_text().splitlines()[-1])["closed"], "a connection outlived stop"
    assert "kite feed shard 0 connected" in logs  # the logs were on (debug asked for) ...
    assert sim.env["KITE_ACCESS_TOKEN"] not in logs  # ... and the token is in no line


@contextlib.asynccontextmanager
async def listening(bus: Bus) -> AsyncIterator[Heard]:
    heard = Heard()

    async def on_tick(msg: Msg) -> None:
        heard.ticks.append((time.monotonic(), msg.subject, decode_as(msg.data, MarketTick).data))

    sub = await bus.nc.subscribe(MARKET_TICKS_ALL, cb=on_tick)
    try:
        yield heard
    finally:
        await sub.unsubscribe()


def _streamed(count: int) -> dict[tuple[int, int], MarketTick]:
    """The simulator's walk (seed 1, the GBM of the mock feed), by (token, volume): the
    volume of an instrument only grows, so it names one step of the walk."""
    walk = GbmFeed(InstrumentBook.default(), 1, tick_interval_s=0.005)  # start_sim's walk
    ticks = (walk.next_tick(0) for _ in range(count))
    return {(t.instrument_token, t.volume_traded): t for t in ticks}


_COMPARED = (
    "last_price", "ohlc", "depth", "average_traded_price", "volume_traded", "change",
    "last_traded_quantity", "total_buy_quantity", "total_sell_quantity",
)  # fmt: skip


@pytest.mark.timeout(90)
async def test_kite_ticks_reach_market_ticks_exactly_as_the_simulator_streamed_them(
    kite_sim: RunningSim, market_bus: Bus, fresh_nats: NatsServer, tmp_path: Path
) -> None:
    book = InstrumentBook.default()
    async with (
        listening(market_bus) as heard,
        kite_feed(kite_sim, fresh_nats.url, tmp_path, max_per_connection=7) as feed,
    ):
        await until(lambda: len({t.instrument_token for _, _, t in heard.ticks}) == 20, "ticks")
        kite = feed.kite()
        assert (kite["connections"], kite["connections_up"], kite["subscribed"]) == (3, 3, 20)
    streamed = await asyncio.to_thread(_streamed, 50_000)
    symbols = {i.instrument_token: i.tradingsymbol for i in book}
    # Kite starts a subscription in quote mode; the feed's "full" follows at once
    assert {t.mode for _, _, t in heard.ticks} <= {"quote", "full"}
    assert all(t.mode == "full" for _, _, t in heard.ticks[-20:])
    for _, subject, tick in heard.ticks:
        assert subject == tick_subject(tick.instrument_token)
        assert tick.symbol == symbols[tick.instrument_token]
        sent = streamed[(tick.instrument_token, tick.volume_traded)]
        for name in _COMPARED if tick.mode == "full" else _COMPARED[:1] + _COMPARED[2:]:
            assert getattr(tick, name) == getattr(sent, name), name
        if tick.mode == "full":
            assert tick.exchange_timestamp_ns is not None and tick.exchange_timestamp_ns > 0


@pytest.mark.timeout(90)
async def test_a_dropped_kite_feed_recovers_within_the_watchdog_interval(
    kite_sim: RunningSim, market_bus: Bus, fresh_nats: NatsServer, tmp_path: Path
) -> None:
    async with (
        listening(market_bus) as heard,
        kite_feed(kite_sim, fresh_nats.url, tmp_path, stall_s=2.0) as feed,
    ):
        await until(lambda: bool(heard.ticks), "the first tick")
        feed.fault(drop_ws=True)
        dropped = time.monotonic()
        await until(lambda: feed.kite().get("reconnects", 0) >= 1, "a reconnect")
        reconnected = time.monotonic()
        await until(lambda: bool(heard.after(reconnected)), "ticks after the reconnect")
        recovered_s = time.monotonic() - dropped
        assert {t.mode for t in heard.after(reconnected)} == {"full"}  # resubscribed as before
        assert feed.kite()["connections_up"] == 1 and feed.kite()["stalls_detected"] == 0
    print(f"dropped feed: ticks again after {recovered_s:.2f} s (watchdog interval 2 s)")


@pytest.mark.timeout(90)
async def test_a_silent_kite_stall_is_reconnected_by_the_watchdog(
    kite_sim: RunningSim, market_bus: Bus, fresh_nats: NatsServer, tmp_path: Path
) -> None:
    async with (
        listening(market_bus) as heard,
        kite_feed(kite_sim, fresh_nats.url, tmp_path, stall_s=1.0) as feed,
    ):
        await until(lambda: bool(heard.ticks), "the first tick")
        feed.fault(stall_ws=300)  # far longer than the test: only a reconnect ends it
        stalled = time.monotonic()
        await until(lambda: feed.kite().get("stalls_detected", 0) >= 1, "the watchdog")
        await until(lambda: feed.kite().get("reconnects", 0) >= 1, "a reconnect")
        reconnected = time.monotonic()
        await until(lambda: bool(heard.after(reconnected)), "ticks after the reconnect")
        recovered_s = time.monotonic() - stalled
    print(f"stalled feed: ticks again after {recovered_s:.2f} s (watchdog interval 1 s)")


@pytest.mark.timeout(90)
async def test_a_bad_kite_packet_is_dead_lettered_and_the_feed_keeps_running(
    kite_sim: RunningSim, market_bus: Bus, fresh_nats: NatsServer, tmp_path: Path
) -> None:
    letters: list[DeadLetter] = []

    async def on_letter(msg: Msg) -> None:
        letters.append(decode_as(msg.data, DeadLetter).data)

    sub = await market_bus.nc.subscribe(dlq_subject(tick_subject(INFY)), cb=on_letter)
    async with (
        listening(market_bus) as heard,
        kite_feed(kite_sim, fresh_nats.url, tmp_path) as feed,
    ):
        await until(lambda: bool(heard.ticks), "the first tick")
        feed.fault(bad_packet=3)
        await until(lambda: len(letters) == 3, "three dead letters")
        after = time.monotonic()
        await until(lambda: bool(heard.after(after)), "ticks after the bad packets")
        await until(lambda: feed.kite().get("bad_packets") == 3, "the count in the stats")
        assert feed.kite()["reconnects"] == 0
    await sub.unsubscribe()
    assert {(d.error_type, d.actor) for d in letters} == {("PacketError", "market-feed")}
    assert (
        "10 bytes" in letters[0].error and bytes.fromhex(letters[0].payload)[:4] == b"\x00\x06:\x01"
    )


@pytest.mark.timeout(90)
async def test_a_stuck_loop_makes_the_kite_queue_drop_and_count_never_grow(
    kite_sim: RunningSim, market_bus: Bus, fresh_nats: NatsServer, tmp_path: Path
) -> None:
    async with (
        listening(market_bus) as heard,
        kite_feed(kite_sim, fresh_nats.url, tmp_path, queue=20, block_loop_s=1.5) as feed,
    ):
        await until(lambda: feed.kite().get("dropped_ticks", 0) > 0, "drops counted")
        after = time.monotonic()
        await until(lambda: bool(heard.after(after)), "ticks after the drops")
        kite = feed.kite()
        assert kite["queue_high_water"] == 20 and kite["queue"] <= 20
        assert kite["reconnects"] == 0  # the reactor thread was never blocked
    print(f"stuck loop: {kite['dropped_ticks']} ticks dropped, queue never above 20")


@pytest.mark.timeout(180)
def test_kite_soak_200_forced_reconnects_leave_threads_tasks_and_memory_flat(
    kite_sim: RunningSim, fresh_nats: NatsServer, tmp_path: Path
) -> None:
    asyncio.run(_boot(fresh_nats.url))
    args = {
        "nats_url": fresh_nats.url, "env": kite_sim.env, "soak": 200,
        "kite": FAST | {"max_per_connection": 10},  # two connections, both dropped each time
        "stats_path": str(tmp_path / "stats.json"), "stop_path": str(tmp_path / "stop"),
    }  # fmt: skip
    import subprocess

    run = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(args)], capture_output=True, text=True, timeout=150
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert kite_sim.env["KITE_ACCESS_TOKEN"] not in run.stdout + run.stderr
    summary = json.loads(run.stdout.splitlines()[-1])
    soak, kite = summary["soak"], summary["stats"]["kite"]
    before, after = soak["before"], soak["after"]
    print(
        f"soak: {soak['drops']} drops x 2 connections in {soak['elapsed_s']} s; {before} -> {after}"
    )
    assert kite["reconnects"] >= 2 * 200 and summary["closed"]
    assert after["threads"] == before["threads"]  # the reactor's one thread, nothing per reconnect
    assert after["tasks"] == before["tasks"]
    assert after["traced_kb"] - before["traced_kb"] < 512  # tolerance: 512 KB over 400 reconnects
    assert after["rss_kb"] - before["rss_kb"] < 8 * 1024  # tolerance: 8 MB of RSS


async def _boot(url: str) -> None:
    bus = await Bus.connect(url, name="tests")
    await bootstrap_streams(bus, "test")
    await bus.close()


__all__ = ["httpx"]
