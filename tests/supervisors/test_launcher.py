"""The launcher: alpha.status, signals, --duration and the root giving up."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops.tree import halt_on_give_up
from schemas.envelope import decode_as
from schemas.events import ControlCommand
from schemas.names import STATUS_SUBJECT
from supervisors.bus import Bus
from supervisors.launcher import EXIT_GAVE_UP, LaunchConfig, launch
from tests.supervisors.fakes import Family, supervisor


def alpha_panda(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    # output to a file, not a pipe nobody reads: a full pipe would block the process
    log = open(cwd / "alpha-panda.log", "wb")  # noqa: SIM115 - the child holds it
    return subprocess.Popen(
        [sys.executable, "-m", "ops.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _root_running(body: dict[str, Any]) -> bool:
    tree = body.get("tree")
    return isinstance(tree, dict) and tree.get("state") == "running"


async def status_reply(
    bus: Bus,
    pid: int,
    timeout_s: float = 60.0,
    until: Callable[[dict[str, Any]], bool] = _root_running,
) -> dict[str, Any]:
    """The first reply of process `pid` that shows what the test needs (`until`; by default
    the root running), polled: a process answers while it is still starting, and a loaded
    machine makes that last (other tests' processes may share this server)."""
    last: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                for msg in await bus.gather_replies(STATUS_SUBJECT, b"", window_s=0.5):
                    if not msg.data:  # "no responders" while the process is still starting
                        continue
                    body: dict[str, Any] = json.loads(msg.data)
                    if body["process"]["pid"] == pid:
                        last = body
                        if until(body):
                            return body
                await asyncio.sleep(0.2)
    except TimeoutError:
        state = (last or {}).get("tree", {}).get("state") if last else "no reply"
        raise AssertionError(
            f"process {pid} did not reach the state needed within {timeout_s:g}s "
            f"(last root state: {state})"
        ) from None


async def test_up_answers_alpha_status_with_the_tree_and_exits_zero_on_sigterm(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    proc = alpha_panda("up", env={"NATS_URL": nats_url, "ALPHA_PANDA_ENV": "test"}, cwd=tmp_path)
    try:
        reply = await status_reply(bus, proc.pid)
        tree = reply["tree"]
        assert isinstance(tree, dict) and tree["name"] == "root" and tree["state"] == "running"
        assert reply["process"]["pid"] == proc.pid
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_up_with_duration_starts_the_embedded_server_and_exits_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env["ALPHA_PANDA_NATS_PORT"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "ops.cli", "up", "--duration", "2"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "embedded nats-server on nats://127.0.0.1:" in proc.stderr
    assert (tmp_path / "var" / "nats" / "jetstream").is_dir()
    assert not (tmp_path / "var" / "nats.url").exists(), "the URL file goes with the server"


async def test_the_launcher_exits_non_zero_after_a_graceful_stop_when_the_root_gives_up(
    nats_url: str, tmp_path: Path
) -> None:
    fam = Family()

    def tree(bus: Bus):  # type: ignore[no-untyped-def]
        return supervisor("root", [fam.spec("a"), fam.spec("doomed")], max_restarts=2)

    async def crash_repeatedly() -> None:
        for n in range(1, 4):
            while fam.starts("doomed") < n or fam.latest["doomed"]._end is None:
                await asyncio.sleep(0.01)
            fam.latest["doomed"].crash()

    config = LaunchConfig(nats_url=nats_url, store_dir=tmp_path, roles=("test",))
    crasher = asyncio.create_task(crash_repeatedly())
    code = await launch(config, tree)
    await crasher
    assert code == EXIT_GAVE_UP
    assert fam.journal[-1] == ("stop", "a"), "the rest of the tree was stopped gracefully"


async def test_a_broker_subtree_giving_up_publishes_control_halt_for_that_broker(bus: Bus) -> None:
    from ops.bootstrap import bootstrap_streams

    await bootstrap_streams(bus, "test")
    sub = await bus.js.subscribe("control.halt.paper", ordered_consumer=True,
                                 deliver_policy=__import__("nats").js.api.DeliverPolicy.NEW)  # fmt: skip
    await halt_on_give_up(bus, "paper")("supervisor 'broker:paper' gave up")
    msg = await sub.next_msg(timeout=5)
    command = decode_as(msg.data, ControlCommand).data
    assert command.verb == "halt" and command.broker == "paper"
    assert "gave up" in command.reason
    await sub.unsubscribe()
