"""`ops bootstrap` and a connection on a 3-node cluster named by a seed list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ops.bootstrap import bootstrap_streams
from schemas.names import STATE_BUCKET, STREAMS, kv_stream
from tests.cluster.conftest import NatsCluster, wait_until_current
from tests.e2e.conftest import clean_env


def test_cluster_ops_bootstrap_takes_the_seed_list_and_makes_r3_streams(
    clean_cluster: NatsCluster, tmp_path: Path
) -> None:
    env = clean_env(NATS_URL=clean_cluster.url, NATS_USER="operator",
                    NATS_PASSWORD=clean_cluster.password("operator"),
                    ALPHA_PANDA_DATA_DIR=str(tmp_path / "var"))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "ops", "bootstrap", "--env", "production"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for stream in STREAMS:
        assert f"stream {stream}: created" in done.stdout


def test_cluster_a_malformed_seed_list_is_refused_without_a_traceback(tmp_path: Path) -> None:
    env = clean_env(NATS_URL="nats://127.0.0.1:4222,http://127.0.0.1:4223")
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "ops", "bootstrap"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "NATS_URL entry 'http://127.0.0.1:4223'" in done.stderr
    assert "Traceback" not in done.stderr


async def test_cluster_bootstrap_keeps_replicas_while_a_node_is_down(
    clean_cluster: NatsCluster,
) -> None:
    bus = await clean_cluster.connect()
    try:
        await bootstrap_streams(bus, "production")
        infos = await wait_until_current(bus, [*STREAMS, kv_stream(STATE_BUCKET)])
        assert {s: i.config.num_replicas for s, i in infos.items()} == dict.fromkeys(infos, 3)
    finally:
        await bus.close()
    down = 2
    clean_cluster.kill(down)
    clean_cluster.wait_for_meta_leader()  # the survivors elect one if it was the leader
    try:
        bus = await clean_cluster.connect()
        try:
            again = await bootstrap_streams(bus, "production")
            assert set(again.values()) == {"unchanged"}, "a node down scales nothing down"
        finally:
            await bus.close()
    finally:
        clean_cluster.restart(down)
