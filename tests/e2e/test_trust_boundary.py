"""The trust boundary, end to end: the embedded server refuses clients without credentials
while the CLI works; a split deployment trades with each role as its own NATS user and no
permission violation; no generated secret shows in logs or status."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import nats
import pytest

from schemas.names import ORDERS_FILLED, STATUS_SUBJECT, broker_subject
from schemas.permissions import OPERATOR, OWNER_ROLES, USERS, process_user
from supervisors.bus import Bus
from supervisors.nats_auth import UserStore
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    API_TOKEN,
    AlphaPanda,
    eventually,
    launch,
    run_cli,
    subject_counts,
    up_embedded,
)

REPO = Path(__file__).parents[2]


async def test_the_embedded_server_refuses_anonymous_clients_while_the_cli_works(
    tmp_path: Path,
) -> None:
    app = up_embedded(tmp_path)
    proc, log = app.proc, app.log
    try:
        url_file = tmp_path / "var" / "nats.url"

        async def url_written() -> bool:
            return url_file.exists() and bool(url_file.read_text().strip())

        await eventually(url_written, "var/nats.url", app=app)
        url = url_file.read_text().strip()
        with pytest.raises(Exception, match="(?i)authorization"):
            await nats.connect(url, connect_timeout=3, allow_reconnect=False)

        status: dict[str, Any] = {}

        async def status_answers() -> bool:
            done = await asyncio.to_thread(run_cli, tmp_path, "status", "--json")
            if done.returncode == 0:
                status.update(json.loads(done.stdout))
            return done.returncode == 0 and status["tree"]["state"] == "running"

        await eventually(status_answers, "alpha-panda status --json to answer", app=app)
        assert status["process"]["auth"] == f"on, {len(USERS)} users"
        assert status["process"]["security"] == {
            "user": "app", "violations": 0, "last_violation": None,
        }  # fmt: skip
        halted = await asyncio.to_thread(run_cli, tmp_path, "halt", "--reason", "test")
        assert halted.returncode == 0, halted.stdout + halted.stderr
        assert "stored on control.halt" in halted.stdout
        bootstrap = await asyncio.to_thread(run_cli, tmp_path, "ops", "bootstrap")
        assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0, app.output()
    finally:
        app.kill()
    passwords = [s.password.reveal() for s in UserStore(tmp_path / "var" / "nats-users.json").load().values()]  # fmt: skip
    assert len(passwords) == len(USERS)
    passwords.append(API_TOKEN)
    leaks = [
        path.name
        for path in (log, tmp_path / "var" / "nats-auth.conf", tmp_path / "var/nats/nats-server.log")
        for p in passwords
        if p in path.read_text(errors="replace")
    ]  # fmt: skip
    leaks += ["status"] * sum(p in json.dumps(status) for p in passwords)
    assert leaks == [], "a secret appeared in logs, the server config or status"


async def test_a_split_deployment_trades_with_each_process_as_its_own_user(
    tmp_path: Path, guarded_server: tuple[NatsServer, UserStore]
) -> None:
    server, store = guarded_server
    apps: list[AlphaPanda] = []
    operator = await Bus.connect(server.url, auth=store.auth_for(OPERATOR))

    def start(*roles: str) -> AlphaPanda:
        user = process_user(roles)
        workdir = tmp_path / user
        workdir.mkdir()
        password = store.auth_for(user).password
        assert password is not None
        app = launch(
            workdir, roles=roles, nats_url=server.url, strategies=REPO / "strategies.yaml",
            extra={"NATS_USER": user, "NATS_PASSWORD": password.reveal(),
                   "ALPHA_PANDA_FEED_RATE": "200"},
        )  # fmt: skip
        apps.append(app)
        return app

    async def answering(count: int) -> bool:
        replies = await operator.gather_replies(STATUS_SUBJECT, b"", window_s=0.5)
        return len([r for r in replies if r.data]) >= count

    try:
        control = start("control")  # creates the streams: the others may not
        await eventually(lambda: answering(1), "the control process", app=control)
        start(*OWNER_ROLES)  # one process: they share the broker's lease
        start("strategies")
        await eventually(lambda: answering(3), "the broker roles", timeout_s=40)
        feed = start("feed")
        filled = broker_subject("paper", ORDERS_FILLED)

        async def some_fill() -> bool:
            return (await subject_counts(operator, "PAPER")).get(filled, 0) > 0

        await eventually(some_fill, "a fill through four processes", timeout_s=60, app=feed)
        # the replies of all four, polled: a loaded process may miss one collection window
        replies: list[Any] = []

        async def all_four() -> bool:
            got = await operator.gather_replies(STATUS_SUBJECT, b"", window_s=1.0)
            replies[:] = [r for r in got if r.data]
            return len(replies) >= 4

        await eventually(all_four, "the status of all four processes", timeout_s=40)
        security = {
            tuple(body["process"]["roles"]): body["process"]["security"]
            for body in (json.loads(r.data) for r in replies if r.data)
        }
        assert sorted(f["user"] for f in security.values()) == [
            "control", "feed", "owner", "strategies",
        ]  # fmt: skip
        for roles, figures in security.items():
            assert figures["user"] == process_user(roles)
            assert figures["violations"] == 0, f"{roles}: {figures['last_violation']}"
    finally:
        for app in reversed(apps):
            await app.stop()
        await operator.close()
