"""SIGKILL of the whole process mid-run: after a restart the books equal an uninterrupted run.

Both runs use the same seeded mock feed (a fixed number of ticks) on a NATS server of
their own. The crashed run is killed with SIGKILL at a random moment and started again
on the same server and data directory; the feed resumes its walk, every stateful actor
restores its snapshot and replays the stream after it. Then: the same positions, average
prices, realized PnL, charges and cash as the uninterrupted run, and no order or fill twice
in the stream or in the ledger.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schemas.envelope import decode, decode_as
from schemas.events import MarketTick, OrderFilled, OrderSubmitted
from schemas.names import portfolio_request_subject, tick_subject
from supervisors.bus import Bus
from supervisors.embedded_nats import free_port
from tests.conftest import NatsServer

TICKS = 4000
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
- id: rsi-consumer
  type: rsi
  instruments: [HINDUNILVR, TITAN, SUNPHARMA, LT, ITC]
  brokers: [paper]
  params: {period: 7, oversold: 30, overbought: 70, exit_level: 50, lots: 5, allow_short: true}
- id: momentum-oversized
  type: momentum
  instruments: [MARUTI, BAJFINANCE]
  brokers: [paper]
  params: {fast_window: 5, slow_window: 15, lots: 1000}
"""
# Limits that depend on wall-clock timing (rate, open orders, daily loss) are set out of
# reach, so both runs take the same decisions; the notional limit still rejects.
LIMITS = {"rate_limit_per_s": 100000, "burst": 100000, "max_open_orders": 100000,
          "daily_loss_limit": 1000000000, "max_gross_exposure": 1000000000}  # fmt: skip


def start(server: NatsServer, data: Path) -> subprocess.Popen[bytes]:
    strategies = data / "strategies.yaml"
    strategies.write_text(STRATEGIES)
    env = {
        **os.environ,
        "NATS_URL": server.url,
        "ALPHA_PANDA_ENV": "test",
        "ALPHA_PANDA_DATA_DIR": str(data / "var"),
        "ALPHA_PANDA_STRATEGIES": str(strategies),
        "ALPHA_PANDA_RISK_LIMITS": json.dumps(LIMITS),
        "ALPHA_PANDA_FEED_RATE": "500",
        "ALPHA_PANDA_FEED_MAX_TICKS": str(TICKS),
        "ALPHA_PANDA_SEED": "7",
        "ALPHA_PANDA_PNL_INTERVAL_S": "1",
        "ALPHA_PANDA_WEB_ADDR": f"127.0.0.1:{free_port()}",
    }
    log = (data / "up.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "up"], env=env, cwd=data, stdout=log, stderr=log
    )


async def last_seq(bus: Bus, stream: str) -> int:
    try:
        return await bus.stream_last_seq(stream)
    except Exception:
        return 0


async def trading_events(bus: Bus) -> int:
    """Signals and order events on PAPER (PnL snapshots keep coming; they do not count)."""
    info = await bus.js.stream_info("PAPER", subjects_filter="paper.*.*")
    return sum(n for s, n in (info.state.subjects or {}).items() if not s.startswith("paper.pnl"))


async def wait_until_settled(bus: Bus, timeout_s: float = 120) -> None:
    """All ticks stored and no new signal or order event for three seconds."""
    async with asyncio.timeout(timeout_s):
        while await last_seq(bus, "MARKET") < TICKS:
            await asyncio.sleep(0.2)
        quiet, seen = 0, -1
        while quiet < 15:
            await asyncio.sleep(0.2)
            n = await trading_events(bus)
            quiet = quiet + 1 if n == seen else 0
            seen = n


async def _last_prices(bus: Bus, tokens: list[int]) -> dict[int, Decimal]:
    out = {}
    for token in tokens:
        raw = await bus.js.get_last_msg("MARKET", tick_subject(token))
        out[token] = decode_as(raw.data or b"", MarketTick).data.last_price
    return out


async def portfolio(bus: Bus, timeout_s: float = 60) -> dict[str, Any]:
    """The portfolio once every open position is marked at its instrument's last tick
    (polled: on a loaded machine the portfolio may take a while to see the last ticks)."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                reply = await bus.request(portfolio_request_subject("paper"), b"", timeout_s=1)
            except Exception:
                await asyncio.sleep(0.2)
                continue
            body: dict[str, Any] = json.loads(reply.data)
            held = {p["instrument_token"]: p for p in body["positions"] if p["quantity"]}
            last = await _last_prices(bus, list(held))
            if all(Decimal(str(p["last_price"])) == last[t] for t, p in held.items()):
                return body
            await asyncio.sleep(0.2)


async def order_events(bus: Bus) -> tuple[list[OrderSubmitted], list[OrderFilled]]:
    submitted: list[OrderSubmitted] = []
    fills: list[OrderFilled] = []
    async for msg in bus.replay("PAPER", ["paper.orders.submitted", "paper.orders.filled"], 1):
        data = decode(msg.data).data
        if isinstance(data, OrderSubmitted):
            submitted.append(data)
        elif isinstance(data, OrderFilled):
            fills.append(data)
    return submitted, fills


def book(p: dict[str, Any]) -> dict[str, Any]:
    """The figures both runs must share (as_of and snapshot counts differ, naturally)."""
    positions = {
        x["instrument_token"]: (x["quantity"], x["average_price"], x["realized_pnl"])
        for x in p["positions"]
    }
    return {k: p[k] for k in ("cash", "realized_pnl", "charges", "fills")} | {
        "positions": positions
    }


async def run_to_the_end(server: NatsServer, data: Path, kill_at: float | None) -> dict[str, Any]:
    """`kill_at`: the fraction of TICKS in MARKET at which the first process is SIGKILLed."""
    proc = start(server, data)
    bus = await Bus.connect(server.url)
    try:
        if kill_at is not None:
            # mid-run by the ticks stored, not by a clock: a loaded machine starts slowly
            async with asyncio.timeout(120):
                while await last_seq(bus, "MARKET") < kill_at * TICKS:
                    await asyncio.sleep(0.05)
            assert proc.poll() is None, (data / "up.log").read_text()[-3000:]
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            killed_at = await last_seq(bus, "MARKET")
            assert 0 < killed_at < TICKS, f"the kill must land mid-run (MARKET at {killed_at})"
            proc = start(server, data)
        await wait_until_settled(bus)
        result = await portfolio(bus)
        submitted, fills = await order_events(bus)
        result["_submitted"], result["_fills"] = submitted, fills
        return result
    finally:
        await bus.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 30) == 0


@pytest.mark.timeout(300)
async def test_a_sigkilled_run_ends_with_the_books_of_an_uninterrupted_run(tmp_path: Path) -> None:
    servers = [NatsServer(), NatsServer()]
    for s in servers:
        s.start()
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        clean = await run_to_the_end(servers[0], tmp_path / "a", None)
        crashed = await run_to_the_end(
            servers[1], tmp_path / "b", random.uniform(0.15, 0.6)
        )  # of TICKS
    finally:
        for s in servers:
            s.cleanup()

    assert clean["fills"] > 50, "the run traded"
    assert book(crashed) == book(clean)
    assert crashed["unrealized_pnl"] == clean["unrealized_pnl"], "marked at the same last ticks"

    for run in (clean, crashed):
        ids = Counter(o.client_order_id for o in run["_submitted"])
        assert max(ids.values()) == 1, "no order twice in the stream"
        fill_ids = Counter(f.fill_id for f in run["_fills"])
        assert max(fill_ids.values()) == 1, "no fill twice in the stream"
        assert len(fill_ids) == run["fills"]
    ledger = [json.loads(line) for line in
              (tmp_path / "b" / "var" / "ledger" / "fills.jsonl").read_text().splitlines()]  # fmt: skip
    assert len(ledger) == crashed["fills"], "no fill twice in the ledger"
    assert len({row["fill_id"] for row in ledger}) == len(ledger)
