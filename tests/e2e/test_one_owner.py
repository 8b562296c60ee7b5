"""One owner per broker, end to end: a second `up` on a data directory refuses at once, and
two processes for one broker fail over without a duplicate or a gap."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import pytest

from ops.commands.status import fetch_status, render_process
from schemas.events import (
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)
from schemas.names import portfolio_request_subject
from supervisors.bus import Bus
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    AlphaPanda,
    alpha_panda_env,
    connected,
    eventually,
    find_actor,
    last_seq,
    read_stream,
    run_alpha_panda_up,
)
from tests.faults.test_sigkill_recovery import LIMITS, STRATEGIES, trading_events
from tests.stores.conftest import database_server, fresh_database_url  # noqa: F401 - fixtures

# --- A second `up` on one data directory ----------------------------------------------------


def embedded_env(workdir: Path, strategies: Path) -> dict[str, str]:
    """`up` as a user runs it: the embedded nats-server (on a free port), data under ./var."""
    env = alpha_panda_env(workdir, nats_url="unused", strategies=strategies)
    del env["NATS_URL"]
    env["ALPHA_PANDA_NATS_PORT"] = "0"
    return env


def cli_status(workdir: Path, env: dict[str, str]) -> dict[str, Any] | None:
    """`alpha-panda status --json` in that directory: connected the way the CLI connects."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ops.cli", "status", "--json"],
            env=env, cwd=workdir, capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:  # a server that is not up yet
        return None
    if done.returncode != 0:
        return None
    body = json.loads(done.stdout)
    return body if isinstance(body, dict) else None


def start_up(workdir: Path, env: dict[str, str], log_name: str) -> AlphaPanda:
    log = workdir / log_name
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "up"], env=env, cwd=workdir, stdout=out, stderr=out
        )
    return AlphaPanda(proc, log, workdir / "var")


async def answering(workdir: Path, env: dict[str, str], app: AlphaPanda) -> dict[str, Any]:
    """Poll until this `up` has written var/nats.url and answers alpha.status as itself,
    its tree running."""
    found: list[dict[str, Any]] = []

    async def probe() -> bool:
        if not (workdir / "var" / "nats.url").exists():
            return False
        body = await asyncio.to_thread(cli_status, workdir, env)
        if body is None or body["process"]["pid"] != app.proc.pid:
            return False
        if body["tree"]["state"] != "running":
            return False
        found.append(body)
        return True

    await eventually(probe, "alpha-panda up to answer alpha.status", app=app, timeout_s=30)
    return found[-1]


@pytest.mark.timeout(90)
async def test_a_second_up_on_a_data_directory_refuses_at_once_naming_the_first(
    tmp_path: Path,
) -> None:
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(STRATEGIES)
    env = embedded_env(tmp_path, strategies)
    first = start_up(tmp_path, env, "first.log")
    try:
        await answering(tmp_path, env, first)
        url = (tmp_path / "var" / "nats.url").read_text()

        began = time.monotonic()
        second = await asyncio.to_thread(
            subprocess.run,
            ["timeout", "30", sys.executable, "-m", "ops.cli", "up", "--duration", "5"],
            env=env, cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip
        took = time.monotonic() - began
        out = second.stdout + second.stderr
        assert second.returncode not in (0, 124), out
        assert took < 10, f"refused at start, not after a run ({took:.1f}s)"
        assert f"pid {first.proc.pid}" in out, out
        assert "ALPHA_PANDA_DATA_DIR" in out, "the message says how to run a second one"
        assert "Traceback" not in out
        assert len(out.strip().splitlines()) == 1, out
        first.assert_running()
        assert (tmp_path / "var" / "nats.url").read_text() == url, "it started no server"

        first.kill()  # SIGKILL: no cleanup ran, the lock must not outlive the process
        third = start_up(tmp_path, env, "third.log")
        try:
            body = await answering(tmp_path, env, third)
            assert find_actor(body["tree"], "owner:paper")["lease"]["held"]
        finally:
            assert await third.stop() == 0, third.output()
    finally:
        first.kill()


def test_a_data_directory_that_cannot_be_made_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(STRATEGIES)
    done = run_alpha_panda_up(tmp_path, strategies=strategies,
                              extra={"ALPHA_PANDA_DATA_DIR": str(tmp_path / "a-file" / "var")})  # fmt: skip
    assert done.returncode == 2
    assert "set ALPHA_PANDA_DATA_DIR to a writable directory" in done.stderr
    assert "Traceback" not in done.stderr


# --- Failover between two processes on one NATS -----------------------------------------------

TTL_S = 3.0
TICKS = 3000


def start_process(
    workdir: Path, nats: NatsServer, database_url: str, roles: tuple[str, ...]
) -> AlphaPanda:
    workdir.mkdir()
    (workdir / "strategies.yaml").write_text(STRATEGIES)
    env = alpha_panda_env(
        workdir, nats_url=nats.url, strategies=workdir / "strategies.yaml", risk_limits=LIMITS,
        extra={"DATABASE_URL": database_url, "ALPHA_PANDA_LEASE_TTL_S": str(TTL_S),
               "ALPHA_PANDA_FEED_RATE": "250", "ALPHA_PANDA_FEED_MAX_TICKS": str(TICKS),
               "ALPHA_PANDA_SEED": "7"},
    )  # fmt: skip
    args = [sys.executable, "-m", "ops.cli", "up", *(f"--role={r}" for r in roles)]
    log = workdir / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=out, stderr=out)
    return AlphaPanda(proc, log, workdir / "var")


async def owner_node(url: str, app: AlphaPanda) -> dict[str, Any] | None:
    """The `owner:paper` node of this process's status reply (None: it did not answer, or
    it answered while still starting, before its tree holds the node: poll again)."""
    for reply in await fetch_status(url, 0.5):
        if reply["process"]["pid"] == app.proc.pid:
            try:
                return find_actor(reply["tree"], "owner:paper")
            except KeyError:
                return None
    return None


async def process_owner_id(url: str, app: AlphaPanda) -> str:
    for reply in await fetch_status(url, 0.5):
        if reply["process"]["pid"] == app.proc.pid:
            return str(reply["process"]["owner"])
    raise AssertionError(f"process {app.proc.pid} did not answer")


async def fill_count(bus: Bus) -> int:
    info = await bus.js.stream_info("PAPER", subjects_filter="paper.orders.filled")
    return sum((info.state.subjects or {}).values())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("disruption", ["sigkill", "sigstop"])
async def test_a_standby_takes_over_from_its_owner_with_no_order_or_fill_twice_or_missing(
    tmp_path: Path,
    fresh_nats: NatsServer,
    fresh_database_url: str,  # noqa: F811
    disruption: str,
) -> None:
    """SIGKILL: the owner is gone. SIGSTOP: it is frozen, as in a long pause or a partition,
    and wakes up after the standby took over: it must stand by then, not act."""
    url = fresh_nats.url
    owner = start_process(tmp_path / "a", fresh_nats, fresh_database_url,
                          ("portfolio", "execution", "risk"))  # fmt: skip
    standby: AlphaPanda | None = None

    async def owns(app: AlphaPanda) -> bool:
        node = await owner_node(url, app)
        return node is not None and node["state"] == "running" and node["lease"]["held"]

    async def stands_by(app: AlphaPanda, behind: str) -> bool:
        node = await owner_node(url, app)
        return node is not None and node["state"] == "standby" and node["owner"] == behind

    try:
        await eventually(lambda: owns(owner), "the first process to take the lease", app=owner)
        owner_id = await process_owner_id(url, owner)
        # The second runs everything, the feed included: a standby for the broker's
        # stateful roles, so the ticks and signals go on when the owner is gone.
        standby = start_process(tmp_path / "b", fresh_nats, fresh_database_url, ())
        second = standby
        await eventually(lambda: stands_by(second, owner_id), "the second to stand by",
                         app=second)  # fmt: skip
        node = await owner_node(url, second)
        assert node is not None and {c["state"] for c in node["children"]} == {"standby"}
        shown = "\n".join(render_process(r) for r in await fetch_status(url, 0.5))
        assert (
            f"owner:paper [supervisor one_for_one] standby  lease broker-paper: owner {owner_id}"
            in shown
        )

        async with connected(url) as bus:

            async def filled(n: int) -> bool:
                return await fill_count(bus) >= n

            await eventually(lambda: filled(10), "the owner to fill orders", app=owner)
            lost_at = time.monotonic()
            owner.proc.send_signal(signal.SIGKILL if disruption == "sigkill" else signal.SIGSTOP)
            fills_before = await fill_count(bus)
            await eventually(lambda: owns(second), "the standby to take over", app=second,
                             timeout_s=TTL_S + 5)  # fmt: skip
            # Killed on this host: taken at once; frozen: once the record lapsed, then a poll.
            assert time.monotonic() - lost_at < TTL_S + TTL_S / 3 + 1.5, "taken within the TTL"
            if disruption == "sigstop":
                owner.proc.send_signal(signal.SIGCONT)
                second_id = await process_owner_id(url, second)
                await eventually(lambda: stands_by(owner, second_id),
                                 "the woken owner to stand by behind the new one", app=owner)  # fmt: skip

            async def settled() -> bool:
                if await last_seq(bus, "MARKET") < TICKS:
                    return False
                before = await trading_events(bus)
                await asyncio.sleep(3)
                return await trading_events(bus) == before

            await eventually(settled, "the feed to finish and trading to settle", app=second,
                             timeout_s=40)  # fmt: skip
            assert await fill_count(bus) > fills_before, "the new owner traded"
            events = [e.data for _, e in await read_stream(bus, "PAPER")]
            reply = await bus.request(portfolio_request_subject("paper"), b"", timeout_s=5)
            books = json.loads(reply.data)
        assert await second.stop() == 0, second.output()
        if disruption == "sigstop":
            assert await owner.stop() == 0, owner.output()
    finally:
        owner.kill()
        if standby is not None:
            standby.kill()

    raw = [e for e in events if isinstance(e, TradingSignal)]
    validated = [e for e in events if isinstance(e, ValidatedSignal)]
    rejected = [e for e in events if isinstance(e, RejectedSignal)]
    submitted = [e for e in events if isinstance(e, OrderSubmitted)]
    failed = [e for e in events if isinstance(e, OrderFailed)]
    cancelled = [e for e in events if isinstance(e, OrderCancelled)]
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert len(fills) > 10, "both owners traded"

    verdicts = Counter([v.signal_id for v in validated] + [r.signal_id for r in rejected])
    assert max(verdicts.values()) == 1, "no signal judged twice"
    assert len(verdicts) == len(raw), "no signal left unjudged"
    outcomes = Counter([o.client_order_id for o in submitted] + [f.client_order_id for f in failed])
    assert max(outcomes.values()) == 1, "no order placed twice"
    assert set(outcomes) == {v.client_order_id for v in validated}, "no order missing"
    ended = (
        {f.client_order_id for f in fills}
        | {f.client_order_id for f in failed}
        | {c.client_order_id for c in cancelled}
    )
    assert {o.client_order_id for o in submitted} <= ended, "every order was filled or ended"
    fill_ids = Counter(f.fill_id for f in fills)
    assert max(fill_ids.values()) == 1, "no fill twice"

    conn = await asyncpg.connect(fresh_database_url)
    try:
        ledger_fills = [r["fill_id"] for r in await conn.fetch("SELECT fill_id FROM fills")]
    finally:
        await conn.close()
    assert sorted(ledger_fills) == sorted(fill_ids), "the shared ledger agrees with the stream"
    assert books["fills"] == len(fills), "the new owner's books hold every fill"
