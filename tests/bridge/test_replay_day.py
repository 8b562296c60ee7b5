"""Replaying a recorded trading day from Kafka into the paper broker reproduces its fills.

Day one runs the trading actors, then opens the market (the seeded mock feed, in a process
of its own) on one NATS server, and the bridge mirrors its ticks into Kafka. Then a second, empty NATS server runs everything but the feed,
`bridge replay --topic market.ticks` republishes the day, and the paper broker's fills
must be those of day one: same strategies, instruments, sides, quantities and prices, in
the same order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.replay.republish import ReplayRequest, replay
from schemas.envelope import decode
from schemas.events import OrderFilled
from schemas.names import STATUS_SUBJECT
from supervisors.bus import Bus
from supervisors.embedded_nats import free_port
from tests.bridge.helpers import start_bridge, wait_for
from tests.conftest import NatsServer

ROOT = Path(__file__).resolve().parents[2]
TICKS = 1500
STRATEGIES = """
- id: momentum-banks
  type: momentum
  instruments: [HDFCBANK, ICICIBANK, SBIN, AXISBANK, KOTAKBANK]
  brokers: [paper]
  params: {fast_window: 3, slow_window: 8, lots: 10, allow_short: true}
- id: meanrev-core
  type: mean_reversion
  instruments: [RELIANCE, ITC, NTPC, TATASTEEL, BHARTIARTL]
  brokers: [paper]
  params: {window: 20, entry_z: 1.5, exit_z: 0.3, lots: 20}
"""
# Limits that depend on wall-clock timing are set out of reach, so both days decide alike.
LIMITS = {"rate_limit_per_s": 100000, "burst": 100000, "max_open_orders": 100000,
          "daily_loss_limit": 1000000000, "max_gross_exposure": 1000000000}  # fmt: skip
TRADING = ("control", "portfolio", "execution", "risk", "strategies")


_RUNNING: list[subprocess.Popen[bytes]] = []


def _up(server: NatsServer, data: Path, roles: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True, exist_ok=True)
    (data / "strategies.yaml").write_text(STRATEGIES)
    env = {
        **os.environ,
        "NATS_URL": server.url,
        "ALPHA_PANDA_ENV": "test",
        "ALPHA_PANDA_DATA_DIR": str(data / "var"),
        "ALPHA_PANDA_STRATEGIES": str(data / "strategies.yaml"),
        "ALPHA_PANDA_RISK_LIMITS": json.dumps(LIMITS),
        "ALPHA_PANDA_FEED_RATE": "500",
        "ALPHA_PANDA_FEED_MAX_TICKS": str(TICKS),
        "ALPHA_PANDA_SEED": "11",
        "ALPHA_PANDA_WEB_ADDR": f"127.0.0.1:{free_port()}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    argv = [sys.executable, "-m", "ops.cli", "up", *(f"--role={r}" for r in roles)]
    with (data / "up.log").open("ab") as log:
        proc = subprocess.Popen(argv, env=env, cwd=data, stdout=log, stderr=log)
    _RUNNING.append(proc)
    return proc


async def _trading_events(bus: Bus) -> int:
    try:
        info = await bus.js.stream_info("PAPER", subjects_filter="paper.*.*")
    except Exception:
        return 0
    return sum(n for s, n in (info.state.subjects or {}).items() if not s.startswith("paper.pnl"))


async def _settle(bus: Bus) -> None:
    """No new signal or order event for three seconds."""
    quiet, seen = 0, -1
    while quiet < 15:
        await asyncio.sleep(0.2)
        n = await _trading_events(bus)
        quiet = quiet + 1 if n == seen else 0
        seen = n


async def _fills(bus: Bus) -> list[tuple[str, int, str, int, str]]:
    out = []
    async for msg in bus.replay("PAPER", ["paper.orders.filled"], 1):
        f = decode(msg.data).data
        assert isinstance(f, OrderFilled)
        out.append((f.strategy_id, f.instrument_token, str(f.side), f.quantity, str(f.price)))
    return out


async def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0


@pytest.mark.timeout(240)
async def test_replaying_a_recorded_day_into_the_paper_broker_reproduces_its_fills(
    tmp_path: Path, tansu: str
) -> None:
    day, again = NatsServer(), NatsServer()
    day.start()
    again.start()
    bus_day = await Bus.connect(day.url)
    bus_again = await Bus.connect(again.url)
    try:
        # The trading actors are up before the market opens, as on a trading day.
        trading = _up(day, tmp_path / "day", TRADING)
        await _until_up(bus_day)
        feed = _up(day, tmp_path / "feed", ("feed",))
        async with asyncio.timeout(90):
            while await _last(bus_day, "MARKET") < TICKS:
                await asyncio.sleep(0.2)
            await _settle(bus_day)
        await _stop(feed)
        await _stop(trading)
        process, task = await start_bridge(bus_day, tansu, streams=("MARKET",))
        await wait_for(lambda: process.figures["MARKET"].mirrored_seq == TICKS)
        process.request_stop()
        await task
        recorded = await _fills(bus_day)
        assert len(recorded) > 10, "day one traded"

        proc = _up(again, tmp_path / "again", TRADING)
        await _until_up(bus_again)
        summary = await replay(
            bus_again, tansu, ReplayRequest(topic="market.ticks"), progress=False
        )
        assert summary.published == TICKS
        async with asyncio.timeout(60):
            await _settle(bus_again)
        await _stop(proc)
        assert await _fills(bus_again) == recorded
    finally:
        for leftover in _RUNNING:
            if leftover.poll() is None:
                leftover.kill()
                leftover.wait()
        _RUNNING.clear()
        await bus_day.close()
        await bus_again.close()
        day.cleanup()
        again.cleanup()


def _states(node: dict[str, Any]) -> list[str]:
    if node.get("kind") == "supervisor":
        return [s for child in node.get("children", []) for s in _states(child)]
    return [str(node.get("state"))]


async def _until_up(bus: Bus) -> None:
    """Until the tree reports every actor running (inputs bound: started means ready)."""
    async with asyncio.timeout(60):
        while True:
            replies = await bus.gather_replies(STATUS_SUBJECT, window_s=0.3)
            trees = [json.loads(r.data)["tree"] for r in replies if r.data.startswith(b"{")]
            if any((states := _states(t)) and set(states) == {"running"} for t in trees):
                return
            await asyncio.sleep(0.2)


async def _last(bus: Bus, stream: str) -> int:
    try:
        return await bus.stream_last_seq(stream)
    except Exception:
        return 0
