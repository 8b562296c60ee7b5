"""`up` with ALPHA_PANDA_FEED_PROCESS=1: the market feed in a child process of its own,
supervised by `up`, shown in its tree, and stopped with it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import eventually, find_actor
from tests.e2e.test_one_owner import answering, cli_status, embedded_env, start_up
from tests.faults.test_sigkill_recovery import LIMITS, STRATEGIES


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(120)
async def test_up_runs_the_feed_in_a_child_process_whose_ticks_reach_fills_and_stops_it(
    tmp_path: Path,
) -> None:
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(STRATEGIES)
    env = embedded_env(tmp_path, strategies)
    env.update(
        ALPHA_PANDA_FEED_PROCESS="1",
        ALPHA_PANDA_FEED_RATE="300",
        ALPHA_PANDA_RISK_LIMITS=json.dumps(LIMITS),
    )
    app = start_up(tmp_path, env, "up.log")
    try:
        await answering(tmp_path, env, app)
        seen: list[dict[str, Any]] = []

        async def trading() -> bool:
            body = await asyncio.to_thread(cli_status, tmp_path, env)
            if body is None:
                return False
            pipeline = body.get("pipeline", {})
            if pipeline.get("market", {}).get("ticks", 0) <= 0:
                return False
            if pipeline.get("paper", {}).get("fills", 0) <= 0:
                return False
            seen.append(body)
            return True

        await eventually(trading, "ticks from the feed process and fills", app=app, timeout_s=60)
        body = seen[-1]
        child = find_actor(body["tree"], "feed-process")
        assert child["kind"] == "process"
        assert child["state"] == "running"
        pid = child["pid"]
        assert isinstance(pid, int)
        assert pid != app.proc.pid
        assert _alive(pid)
        feed = find_actor(child, "market-feed")  # the child's own tree, under its node
        assert feed["ticks_per_s"] > 0
        # one process answers alpha.status: the feed's figures come through `up`'s tree
        assert body["process"]["pid"] == app.proc.pid

        assert await app.stop() == 0, app.output()

        async def gone() -> bool:
            return not _alive(pid)

        await eventually(gone, "the feed process to end with `up`", timeout_s=20)
        assert "feed process stopped" in app.output(20000)
    finally:
        app.kill()
