"""`alpha-panda data record` against a real nats-server with ticks published into MARKET."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from ops.backtest.data import load_market_data
from ops.commands.data import record_ticks
from ops.overlays import stream_settings
from schemas.envelope import new_envelope
from schemas.events import MarketTick
from schemas.names import tick_subject
from supervisors.bus import Bus
from tests.conftest import NatsServer


def gbm_ticks(n: int, symbols: tuple[str, ...] = ("INFY", "TCS")) -> list[MarketTick]:
    book = InstrumentBook.default()
    feed = GbmFeed([i for i in (book.by_symbol(s) for s in symbols) if i is not None], seed=3)
    return [t for _, t in feed.take(n)]


async def publish(bus: Bus, ticks: list[MarketTick]) -> None:
    for tick in ticks:
        env = new_envelope(tick, source="feed", key=str(tick.instrument_token))
        await bus.publish(tick_subject(tick.instrument_token), env)


async def streams(bus: Bus) -> None:
    for spec in stream_settings("test"):
        await bus.ensure_stream(spec)


async def test_records_the_live_stream_in_event_order(
    fresh_nats: NatsServer, tmp_path: Path
) -> None:
    bus = await Bus.connect(fresh_nats.url, name="tests")
    recorder = await Bus.connect(fresh_nats.url, name="recorder")
    await streams(bus)
    ticks = gbm_ticks(40)
    # one tick arrives out of order (within the reorder window), one repeats an instant
    swapped = [ticks[1], ticks[0], *ticks[2:]]
    dup = msgspec.structs.replace(ticks[5], last_price=ticks[5].last_price + 1)
    sent = [*swapped[:6], dup, *swapped[6:]]
    out = tmp_path / "rec.csv"
    ready = asyncio.Event()
    lines: list[str] = []
    job = asyncio.create_task(
        record_ticks(recorder, out, count=len(sent), ready=ready, progress=lines.append)
    )
    await asyncio.wait_for(ready.wait(), 10)
    await publish(bus, sent)
    result = await asyncio.wait_for(job, 20)
    await bus.close()
    await recorder.close()
    assert result.written == len(sent)
    assert result.late == 0
    data = load_market_data(out)  # sorted, no duplicate instants: loadable as a tick file
    assert [t.instrument_token for t in data.ticks[:2]] == [ticks[0].instrument_token,
                                                            ticks[1].instrument_token]  # fmt: skip
    assert ticks[5].exchange_timestamp_ns is not None
    assert data.ticks[6].exchange_timestamp_ns == ticks[5].exchange_timestamp_ns + 1
    assert data.ticks[6].last_price == dup.last_price
    assert [t.last_price for t in data.ticks if t is not data.ticks[6]] == [
        t.last_price for t in ticks]  # fmt: skip


async def test_instrument_filter_and_duration(fresh_nats: NatsServer, tmp_path: Path) -> None:
    bus = await Bus.connect(fresh_nats.url, name="tests")
    recorder = await Bus.connect(fresh_nats.url, name="recorder")
    await streams(bus)
    infy = InstrumentBook.default().by_symbol("INFY")
    assert infy is not None
    ready = asyncio.Event()
    out = tmp_path / "infy.csv"
    job = asyncio.create_task(record_ticks(recorder, out, duration_s=1.5, ready=ready,
                                           tokens={infy.instrument_token}))  # fmt: skip
    await asyncio.wait_for(ready.wait(), 10)
    ticks = gbm_ticks(20)
    await publish(bus, ticks)
    result = await asyncio.wait_for(job, 20)
    await bus.close()
    await recorder.close()
    assert result.written == 10
    assert load_market_data(out).instruments == (infy.instrument_token,)


def test_cli_records_with_progress_on_stderr(fresh_nats: NatsServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.csv"
    env = {**os.environ, "NATS_URL": fresh_nats.url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "data", "record", "--out", str(out), "--count", "30",
         "--instruments", "TCS,INFY"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip

    async def feed_until_done() -> None:
        bus = await Bus.connect(fresh_nats.url, name="tests")
        await streams(bus)
        feed = gbm_ticks(4000)
        deadline = time.monotonic() + 30
        i = 0
        while proc.poll() is None and time.monotonic() < deadline:
            await publish(bus, feed[i : i + 10])
            i += 10
            await asyncio.sleep(0.05)
        await bus.close()

    asyncio.run(feed_until_done())
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "wrote 30 ticks" in stdout
    assert "recorded" in stderr
    assert len(load_market_data(out).ticks) == 30


def test_cli_refuses_without_an_end_or_with_unknown_instruments(tmp_path: Path) -> None:
    for args, needle in ((["--out", "x.csv"], "give --duration SECONDS or --count N"),
                         (["--out", "x.csv", "--count", "1", "--instruments", "NOPE"],
                          "'NOPE' is not in the instrument master")):  # fmt: skip
        run = subprocess.run([sys.executable, "-m", "ops.cli", "data", "record", *args],
                             capture_output=True, text=True, cwd=tmp_path, check=False)  # fmt: skip
        assert run.returncode == 2
        assert needle in run.stderr
        assert "Traceback" not in run.stderr


def test_cli_gives_up_on_an_unreachable_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "NATS_URL": f"nats://127.0.0.1:{port}"}
    run = subprocess.run([sys.executable, "-m", "ops.cli", "data", "record", "--out", "x.csv",
                          "--count", "1"], capture_output=True, text=True, cwd=tmp_path,
                         env=env, check=False, timeout=60)  # fmt: skip
    assert run.returncode == 2
    assert f"cannot reach NATS at nats://127.0.0.1:{port} within 10 s" in run.stderr
    assert "Traceback" not in run.stderr
