"""The zerodha session watcher: the pure clock, and the actor on a NATS server with the trust
boundary on (it runs as the execution role's user), against `alpha-panda sim kite`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from actors.control.state import apply_control
from actors.kite.session import exchange_request_token
from actors.kite.session_store import IST, StoredSession, save_session
from actors.kite.session_watch import SessionClock, SessionWatch, publish_token_halt
from ops.bootstrap import bootstrap_streams
from ops.settings import Settings, load_settings
from schemas.enums import TradingState
from schemas.envelope import decode_as
from schemas.events import ControlCommand
from schemas.names import control_wildcard
from schemas.permissions import OPERATOR, USERS, permission_table
from supervisors.bus import Bus
from supervisors.errors import PublishFailed
from supervisors.nats_auth import UserStore, authorization_block
from supervisors.runner import actor_spec
from supervisors.supervisor import Supervisor, SupervisorSpec
from tests.conftest import NatsServer
from tests.ops.sim.conftest import RunningSim, start_sim

EXPIRY = datetime(2026, 12, 2, 6, 0, tzinfo=IST)


def test_the_clock_halts_the_margin_before_the_expiry_and_not_earlier() -> None:
    clock = SessionClock(EXPIRY, timedelta(minutes=5))
    assert clock.check(EXPIRY - timedelta(minutes=5, seconds=1)) is None
    reason = clock.check(EXPIRY - timedelta(minutes=5))
    assert reason is not None
    assert reason.startswith("zerodha session expires at 06:00 IST on 2026-12-02")
    assert "alpha-panda zerodha login" in reason
    assert clock.check(EXPIRY + timedelta(hours=1)) == reason


def test_a_token_of_unknown_expiry_never_halts_on_the_clock() -> None:
    assert SessionClock(None).check(datetime.now(UTC)) is None


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim() as running:
        yield running


class Secured:
    def __init__(self, server: NatsServer, store: UserStore) -> None:
        self.server, self.store = server, store

    async def bus(self, user: str) -> Bus:
        return await Bus.connect(self.server.url, auth=self.store.auth_for(user))


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    """A nats-server with the app's authorization block: one user per role, the operator."""
    store = UserStore(tmp_path / "users.json")
    known = store.ensure(USERS)
    conf = tmp_path / "auth.conf"
    table = permission_table()
    conf.write_text(authorization_block(table, {u: known[u].bcrypt_hash for u in table}))
    server = NatsServer(conf)
    server.start()
    try:
        admin = await Bus.connect(server.url, auth=store.auth_for(OPERATOR))
        await bootstrap_streams(admin, "test")
        await admin.close()
        yield Secured(server, store)
    finally:
        server.cleanup()


def _settings(sim: RunningSim, data: Path) -> Settings:
    return load_settings(
        KITE_API_KEY=sim.env["KITE_API_KEY"], KITE_API_SECRET=sim.env["KITE_API_SECRET"],
        KITE_ROOT=sim.env["KITE_ROOT"], KITE_WS_ROOT=sim.env["KITE_WS_ROOT"],
        ALPHA_PANDA_DATA_DIR=str(data), ALPHA_PANDA_BROKERS="paper,zerodha",
    )  # fmt: skip


def _login(sim: RunningSim, settings: Settings, expires_in: timedelta | None = None) -> None:
    stored = exchange_request_token(settings, sim.env["KITE_REQUEST_TOKEN"])
    if expires_in is not None:
        now = datetime.now(UTC)
        save_session(settings.data_dir, StoredSession(
            stored.api_key, stored.user_id, SecretStr(stored.access_token.get_secret_value()),
            now, now + expires_in,
        ))  # fmt: skip


async def _commands(admin: Bus) -> tuple[list[tuple[str, ControlCommand]], object]:
    seen: list[tuple[str, ControlCommand]] = []

    async def on_msg(msg: object) -> None:
        seen.append((msg.subject, decode_as(msg.data, ControlCommand).data))  # type: ignore[attr-defined]

    sub = await admin.subscribe(control_wildcard(), on_msg)
    await admin.nc.flush()
    return seen, sub


async def _until(pred: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _run_watch(bus: Bus, watch: SessionWatch) -> tuple[Supervisor, asyncio.Task[None]]:
    sup = Supervisor(SupervisorSpec(name="broker:zerodha", children=[
        actor_spec(bus, lambda: watch, "session-watch-zerodha")]))  # fmt: skip
    ready = asyncio.Event()
    task = asyncio.create_task(sup.run(ready.set))
    await asyncio.wait_for(ready.wait(), 30)
    return sup, task


async def _stop(sup: Supervisor, task: asyncio.Task[None]) -> None:
    sup.request_stop()
    await asyncio.wait_for(task, 30)


async def test_the_watcher_halts_zerodha_only_before_the_expiry_as_the_execution_user(
    secured: Secured, sim: RunningSim, tmp_path: Path
) -> None:
    settings = _settings(sim, tmp_path / "var")
    _login(sim, settings, expires_in=timedelta(minutes=4))  # inside the 5-minute margin
    admin = await secured.bus(OPERATOR)
    bus = await secured.bus("execution")
    seen, sub = await _commands(admin)
    watch = SessionWatch(settings, check_s=0.1)
    sup, task = await _run_watch(bus, watch)
    try:
        await _until(lambda: seen, "the halt")
        await asyncio.sleep(0.5)  # a few more ticks: the halt is sent once per session
    finally:
        await _stop(sup, task)
        await sub.unsubscribe()  # type: ignore[attr-defined]
        await bus.close()
        await admin.close()
    assert [s for s, _ in seen] == ["control.halt.zerodha"]
    command = seen[0][1]
    assert command.broker == "zerodha" and command.requested_by == "session-watch-zerodha"
    assert command.reason.startswith("zerodha session expires at ")
    assert "run `alpha-panda zerodha login`" in command.reason
    paper = zerodha = TradingState.ACTIVE
    for _, c in seen:
        paper, zerodha = apply_control(paper, c, "paper"), apply_control(zerodha, c, "zerodha")
    assert (paper, zerodha) == (TradingState.ACTIVE, TradingState.HALTED)
    status = watch.stats()["session"]
    assert status["user_id"] == "SIM001" and status["halted"] == command.reason
    assert "token" not in str(status).replace("TokenException", "")


async def test_a_token_kite_rejects_halts_zerodha_with_the_login_fix(
    secured: Secured, tmp_path: Path
) -> None:
    with start_sim() as sim:
        settings = _settings(sim, tmp_path / "var")
        _login(sim, settings)  # expires at 06:00 IST: hours away
        admin = await secured.bus(OPERATOR)
        bus = await secured.bus("execution")
        seen, sub = await _commands(admin)
        watch = SessionWatch(settings, check_s=0.1, probe_s=0.2)
        sup, task = await _run_watch(bus, watch)
        try:
            await asyncio.sleep(1.0)
            assert seen == [], "a good session does not halt"
            sim.faults(expire_token=True)
            await _until(lambda: seen, "the halt on TokenException")
        finally:
            await _stop(sup, task)
            await sub.unsubscribe()  # type: ignore[attr-defined]
            await bus.close()
            await admin.close()
    assert [s for s, _ in seen] == ["control.halt.zerodha"]
    assert seen[0][1].reason.startswith("Kite rejected the zerodha access token (TokenException")
    assert "alpha-panda zerodha login" in seen[0][1].reason


async def test_other_components_halt_through_the_hook_and_the_feed_user_may_not(
    secured: Secured, tmp_path: Path
) -> None:
    admin = await secured.bus(OPERATOR)
    seen, sub = await _commands(admin)
    execution = await secured.bus("execution")
    feed = await secured.bus("feed")
    try:
        await publish_token_halt(execution, "place_order")
        await _until(lambda: seen, "the hook's halt")
        with pytest.raises(PublishFailed, match="not acknowledged"):  # the server drops it
            await publish_token_halt(feed, "place_order")
    finally:
        await sub.unsubscribe()  # type: ignore[attr-defined]
        for b in (execution, feed, admin):
            await b.close()
    assert len(seen) == 1 and seen[0][0] == "control.halt.zerodha"
    assert "TokenException: place_order" in seen[0][1].reason


def test_the_watcher_halts_at_once_when_the_stored_session_is_gone(tmp_path: Path) -> None:
    settings = load_settings(KITE_API_KEY="k", ALPHA_PANDA_DATA_DIR=str(tmp_path))
    watch = SessionWatch(settings)
    watch._reload()
    reason = watch.decide(datetime.now(UTC))
    assert reason is not None and "alpha-panda zerodha login" in reason
