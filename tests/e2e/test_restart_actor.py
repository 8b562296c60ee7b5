"""`alpha-panda restart ACTOR` against a real `up` with the trust boundary on: refused
without the right token, audited with it, and the actor runs again one restart later."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ops.commands.common import nats_target
from ops.settings import load_settings
from schemas.envelope import decode
from schemas.events import AuditEvent
from schemas.names import AUDIT_STREAM, audit_subject
from tests.e2e.conftest import eventually, find_actor, run_cli, up_embedded


def _risk(workdir: Path) -> dict[str, object] | None:
    done = run_cli(workdir, "status", "--json")
    if done.returncode != 0:
        return None
    body = json.loads(done.stdout)
    if body["tree"]["state"] != "running":
        return None
    return find_actor(body["tree"], "risk-paper")


async def test_restart_risk_paper_through_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = up_embedded(tmp_path, duration_s=180)
    try:
        seen: dict[str, object] = {}

        async def risk_running() -> bool:
            node = await asyncio.to_thread(_risk, tmp_path)
            seen.update(node or {})
            return node is not None and node["state"] == "running"

        await eventually(risk_running, "risk-paper running", timeout_s=60, app=app)
        before = int(str(seen["restarts"]))

        wrong = await asyncio.to_thread(run_cli, tmp_path, "restart", "risk-paper",
                                        env={"ALPHA_PANDA_API_TOKEN": "wrong"})  # fmt: skip
        assert wrong.returncode != 0 and "wrong token" in wrong.stdout, wrong.stdout
        unknown = await asyncio.to_thread(run_cli, tmp_path, "restart", "risk-papr")
        assert unknown.returncode != 0 and "valid:" in unknown.stdout
        assert "risk-paper" in unknown.stdout

        done = await asyncio.to_thread(run_cli, tmp_path, "restart", "risk-paper", "--reason",
                                       "test", timeout_s=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"restarts {before} -> {before + 1}" in done.stdout

        async def restarted() -> bool:
            node = await asyncio.to_thread(_risk, tmp_path)
            return (
                node is not None and node["state"] == "running" and (node["restarts"] == before + 1)
            )

        await eventually(restarted, "risk-paper running again, one restart on", app=app)

        monkeypatch.chdir(tmp_path)
        bus = await nats_target(load_settings()).connect("test:audit")
        try:
            audits = [
                decode(m.data).data
                async for m in bus.replay(AUDIT_STREAM.name, [audit_subject("control")], 1)
            ]
        finally:
            await bus.close()
        restarts = [a for a in audits if isinstance(a, AuditEvent)
                    and a.detail.get("verb") == "restart"]  # fmt: skip
        assert len(restarts) == 1, audits
        assert restarts[0].detail["actor"] == "risk-paper"
        assert restarts[0].actor.endswith("@cli") and restarts[0].detail["reason"] == "test"
    finally:
        app.kill()
