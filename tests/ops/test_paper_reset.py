"""`alpha-panda paper reset --confirm` and `up --fresh`: the paper account starts afresh
(no position rebuilt from the old stream), never while `up` runs, never touching zerodha."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from ops.bootstrap import bootstrap_streams
from ops.paper_reset import PaperInUse, paper_state_keys, reset_paper_account
from schemas.envelope import decode_as, new_envelope
from schemas.events import AuditEvent, Heartbeat
from schemas.names import (
    LEASE_BUCKET,
    PAPER_STREAM,
    STATE_BUCKET,
    ZERODHA_STREAM,
    audit_subject,
    lease_key,
)
from supervisors.bus import Bus
from supervisors.dirlock import DataDirLock
from supervisors.lease import LeaseRecord
from tests.conftest import NatsServer

_FOREIGN = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL")
ZERODHA_FILLED = "zerodha.orders.filled"


@pytest.fixture
def server() -> Iterator[NatsServer]:
    s = NatsServer()
    s.start()
    yield s
    s.cleanup()


def _cli(
    *args: str, cwd: Path, nats_url: str | None, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (*_FOREIGN, "NATS_URL")}
    env.update(ALPHA_PANDA_ENV="test", ALPHA_PANDA_DATA_DIR=str(cwd / "var"),
               ALPHA_PANDA_FEED_RATE="300", ALPHA_PANDA_PNL_INTERVAL_S="1",
               ALPHA_PANDA_NATS_PORT="0")  # fmt: skip
    if nats_url:
        env["NATS_URL"] = nats_url
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip


def _final_fills(output: str) -> int:
    match = re.search(r"^  paper \w+: .*?  fills ([\d,]+)", output, re.M)
    assert match, output[-3000:]
    return int(match.group(1).replace(",", ""))


async def _paper_filled(bus: Bus) -> int:
    info = await bus.js.stream_info(PAPER_STREAM.name, subjects_filter="paper.orders.filled")
    return int((info.state.subjects or {}).get("paper.orders.filled", 0))


async def _keys(bus: Bus) -> set[str]:
    kv = await bus.key_value(STATE_BUCKET)
    try:
        return set(await kv.keys())
    except Exception:  # no keys at all
        return set()


async def _zerodha_state(bus: Bus) -> None:
    """Something of zerodha's in each place a paper reset clears for paper."""
    env = new_envelope(Heartbeat(seq=1), source="test", broker="zerodha")
    await bus.publish(ZERODHA_FILLED, env)
    await (await bus.key_value(STATE_BUCKET)).put("portfolio-zerodha", b'{"seq": 1}')


async def _zerodha_untouched(bus: Bus) -> None:
    info = await bus.js.stream_info(ZERODHA_STREAM.name)
    assert info.state.messages == 1
    entry = await (await bus.key_value(STATE_BUCKET)).get("portfolio-zerodha")
    assert entry.value == b'{"seq": 1}'


async def test_paper_reset_forgets_the_account_and_the_next_run_starts_from_nothing(
    server: NatsServer, tmp_path: Path
) -> None:
    first = _cli("up", "--duration", "8", "--quiet", cwd=tmp_path, nats_url=server.url)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _final_fills(first.stdout) > 0, "the first run traded"
    bus = await Bus.connect(server.url, name="test:reset")
    try:
        assert set(paper_state_keys()) <= await _keys(bus), "the first run left snapshots"
        await _zerodha_state(bus)

        done = _cli("paper", "reset", "--confirm", cwd=tmp_path, nats_url=server.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "paper account reset" in done.stdout and "zerodha untouched" in done.stdout
        info = await bus.js.stream_info(PAPER_STREAM.name)
        assert info.state.messages == 0 and info.state.last_seq > 0, "purged, seqs kept"
        assert not set(paper_state_keys()) & await _keys(bus)
        await _zerodha_untouched(bus)
        [audit] = [
            decode_as(m.data, AuditEvent).data
            async for m in bus.replay("AUDIT", [audit_subject("reset")], 1)
        ]
        assert audit.detail["broker"] == "paper" and int(audit.detail["purged_messages"]) > 0

        second = _cli("up", "--duration", "6", "--quiet", cwd=tmp_path, nats_url=server.url)
        assert second.returncode == 0, second.stdout + second.stderr
        # what the portfolio holds is only what this run filled: nothing was replayed back
        assert _final_fills(second.stdout) == await _paper_filled(bus)
    finally:
        await bus.close()


async def test_up_fresh_resets_the_paper_account_before_it_starts(
    server: NatsServer, tmp_path: Path
) -> None:
    first = _cli("up", "--duration", "6", "--quiet", cwd=tmp_path, nats_url=server.url)
    assert first.returncode == 0, first.stderr
    before = _final_fills(first.stdout)
    again = _cli("up", "--fresh", "--duration", "6", "--quiet", cwd=tmp_path, nats_url=server.url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "paper account reset" in again.stderr
    bus = await Bus.connect(server.url, name="test:fresh")
    try:
        assert _final_fills(again.stdout) == await _paper_filled(bus)
        assert await _paper_filled(bus) < before + _final_fills(again.stdout)
    finally:
        await bus.close()


def test_paper_reset_refuses_while_up_holds_the_data_directory(tmp_path: Path) -> None:
    lock = DataDirLock(tmp_path / "var")
    lock.acquire(command="up")
    try:
        done = _cli("paper", "reset", "--confirm", cwd=tmp_path, nats_url=None)
    finally:
        lock.release()
    assert done.returncode == 2
    assert "refused" in done.stderr and f"pid {os.getpid()}" in done.stderr, done.stderr


def test_paper_reset_needs_confirm_and_runs_on_the_embedded_server(tmp_path: Path) -> None:
    unconfirmed = _cli("paper", "reset", cwd=tmp_path, nats_url=None)
    assert unconfirmed.returncode == 2 and "--confirm" in unconfirmed.stderr
    done = _cli("paper", "reset", "--confirm", cwd=tmp_path, nats_url=None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 message(s) purged" in done.stdout
    assert not (tmp_path / "var" / "nats.url").exists(), "its embedded server is gone again"


async def test_paper_reset_refuses_while_another_process_holds_the_paper_lease(
    server: NatsServer,
) -> None:
    bus = await Bus.connect(server.url, name="test:lease")
    try:
        await bootstrap_streams(bus, "test")
        kv = await bus.js.create_key_value(bucket=LEASE_BUCKET, history=1, ttl=30)
        record = LeaseRecord(owner="elsewhere:1:01X", host=f"not-{socket.gethostname()}",
                             pid=1, ttl_s=30, acquired_at=time.time(), renewed_at=time.time())  # fmt: skip
        await kv.put(lease_key("paper"), msgspec.json.encode(record))
        await bus.publish("paper.orders.filled", new_envelope(Heartbeat(seq=1), source="t"))
        with pytest.raises(PaperInUse, match="holds its lease"):
            await reset_paper_account(bus, "test")
        assert (await bus.js.stream_info(PAPER_STREAM.name)).state.messages == 1
    finally:
        await bus.close()
