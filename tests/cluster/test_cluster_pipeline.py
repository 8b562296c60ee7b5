"""The paper pipeline on a 3-node cluster in production: a node SIGKILLed mid-run and
restarted, and the run ends with the books of an uninterrupted run on the same seed.

Both runs use the seeded mock feed (a fixed number of ticks) and the production overlay
(R3 streams, authenticated users, the secrets production demands). The interrupted run
loses the node its process is connected to: the client moves to another seed, the streams'
leaders move, the consumers continue. Then: every stream R3 with its replicas current, no
order or fill twice in the stream or the ledger, and the same positions, prices, realized
PnL, charges and cash as the uninterrupted run.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas.names import STATE_BUCKET, STREAMS, kv_stream
from supervisors.embedded_nats import free_port
from tests.cluster.conftest import NatsCluster, wait_until_current, wait_until_drained
from tests.e2e.conftest import API_TOKEN, clean_env
from tests.faults.test_sigkill_recovery import (
    LIMITS,
    STRATEGIES,
    TICKS,
    book,
    last_seq,
    order_events,
    portfolio,
)


def production_env(
    cluster: NatsCluster, data: Path, user: str = "app", **extra: str
) -> dict[str, str]:
    """What production needs: the seed list, a role user's credentials, a real token."""
    (data / "strategies.yaml").write_text(STRATEGIES)
    return clean_env(
        NATS_URL=cluster.url, NATS_USER=user, NATS_PASSWORD=cluster.password(user),
        ALPHA_PANDA_ENV="production", ALPHA_PANDA_API_TOKEN=API_TOKEN,
        ALPHA_PANDA_DATA_DIR=str(data / "var"),
        ALPHA_PANDA_STRATEGIES=str(data / "strategies.yaml"),
        ALPHA_PANDA_RISK_LIMITS=json.dumps(LIMITS), ALPHA_PANDA_FEED_RATE="500",
        ALPHA_PANDA_FEED_MAX_TICKS=str(TICKS), ALPHA_PANDA_SEED="7",
        ALPHA_PANDA_PNL_INTERVAL_S="1", ALPHA_PANDA_WEB_ADDR=f"127.0.0.1:{free_port()}",
        **extra,
    )  # fmt: skip


def start_up(
    env: dict[str, str], data: Path, roles: tuple[str, ...] = (), log: str = "up.log"
) -> subprocess.Popen[bytes]:
    out = (data / log).open("ab")
    args = [sys.executable, "-m", "ops.cli", "up", *(f"--role={r}" for r in roles)]
    return subprocess.Popen(args, env=env, cwd=data, stdout=out, stderr=out)


async def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(proc.wait, 30)
    assert code == 0, tail(log)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def launch_all_roles(cluster: NatsCluster, data: Path) -> subprocess.Popen[bytes]:
    data.mkdir()
    return start_up(production_env(cluster, data), data)


async def run_to_the_end(cluster: NatsCluster, data: Path, kill_at: float | None) -> dict[str, Any]:
    """`kill_at`: the fraction of TICKS in MARKET at which the app's node is SIGKILLed."""
    await cluster.wipe()
    proc = launch_all_roles(cluster, data)
    bus = await cluster.connect()
    try:
        if kill_at is not None:
            async with asyncio.timeout(120):
                while await last_seq(bus, "MARKET") < kill_at * TICKS:
                    assert proc.poll() is None, (data / "up.log").read_text()[-3000:]
                    await asyncio.sleep(0.05)
            node = cluster.node_serving("alpha-panda:")
            cluster.kill(node)
            # the restart comes after the pipeline went on without the node
            async with asyncio.timeout(60):
                before = await last_seq(bus, "MARKET")
                while await last_seq(bus, "MARKET") < min(TICKS, before + 200):
                    await asyncio.sleep(0.1)
            assert proc.poll() is None, (data / "up.log").read_text()[-3000:]
            cluster.restart(node)
        await wait_until_drained(bus, TICKS)
        result = await portfolio(bus)
        submitted, fills = await order_events(bus)
        result["_submitted"], result["_fills"] = submitted, fills
        result["_streams"] = await wait_until_current(bus, [*STREAMS, kv_stream(STATE_BUCKET)])
        return result
    finally:
        await bus.close()
        await stop(proc, data / "up.log")


@pytest.mark.timeout(300)
async def test_cluster_run_losing_a_node_ends_with_the_books_of_an_uninterrupted_run(
    clean_cluster: NatsCluster, tmp_path: Path
) -> None:
    clean = await run_to_the_end(clean_cluster, tmp_path / "a", None)
    crashed = await run_to_the_end(clean_cluster, tmp_path / "b", 0.3)

    assert clean["fills"] > 50, "the run traded"
    assert book(crashed) == book(clean)
    assert crashed["unrealized_pnl"] == clean["unrealized_pnl"], "marked at the same last ticks"
    for name, info in crashed["_streams"].items():
        assert info.config.num_replicas == 3, f"{name} is R3"
    for run in (clean, crashed):
        ids = Counter(o.client_order_id for o in run["_submitted"])
        assert max(ids.values()) == 1, "no order twice in the stream"
        fill_ids = Counter(f.fill_id for f in run["_fills"])
        assert max(fill_ids.values()) == 1, "no fill twice in the stream"
        assert len(fill_ids) == run["fills"]
    ledger = [json.loads(line) for line in
              (tmp_path / "b" / "var" / "ledger" / "fills.jsonl").read_text().splitlines()]  # fmt: skip
    assert len(ledger) == crashed["fills"], "no fill twice in the ledger"
    assert {row["fill_id"] for row in ledger} == {f.fill_id for f in crashed["_fills"]}
