"""Split roles on one 3-node cluster, in production: one `alpha-panda up --role ...` process
per role (the broker's stateful roles together, as their lease wants), each connected as
its role's NATS user. The same seeded feed gives the same fills and PnL as one process
running everything; a role process SIGKILLed mid-run and started again loses and doubles
nothing; and a standby for the broker's stateful roles takes over through the lease when
its owner is killed.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import pytest

from schemas.events import OrderFilled
from schemas.names import STATUS_SUBJECT
from schemas.permissions import OWNER_ROLES, process_user
from supervisors.bus import Bus
from tests.cluster.conftest import NatsCluster, wait_until_drained
from tests.cluster.test_cluster_pipeline import production_env, run_to_the_end, start_up, stop
from tests.e2e.conftest import clean_env, find_actor
from tests.faults.test_sigkill_recovery import TICKS, book, last_seq, order_events, portfolio
from tests.stores.conftest import database_server, fresh_database_url  # noqa: F401 - fixtures

#: the processes of a split deployment: name -> roles
SPLIT: dict[str, tuple[str, ...]] = {
    "control": ("control",),
    "owner": OWNER_ROLES,
    "strategies": ("strategies",),
}


@pytest.fixture(scope="module")
async def single_process(nats_cluster: NatsCluster, tmp_path_factory: pytest.TempPathFactory
                         ) -> dict[str, Any]:  # fmt: skip
    """The books of one process running every role, uninterrupted, on the same seed."""
    return await run_to_the_end(nats_cluster, tmp_path_factory.mktemp("single") / "a", None)


class Split:
    """The role processes of one run, each in a data directory of its own."""

    def __init__(self, cluster: NatsCluster, root: Path) -> None:
        self.cluster = cluster
        self.root = root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.extra: dict[str, str] = {}  # settings every process shares

    def start(self, name: str, roles: tuple[str, ...]) -> subprocess.Popen[bytes]:
        data = self.root / name
        data.mkdir(exist_ok=True)
        env = production_env(self.cluster, data, user=process_user(roles), **self.extra)
        proc = start_up(env, data, roles)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.root / name / "up.log").read_text(errors="replace")[-3000:]

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def assert_running(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited:\n{self.log(name)}"

    def ledger(self, name: str) -> list[str]:
        path = self.root / name / "var" / "ledger" / "fills.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["fill_id"] for line in path.read_text().splitlines()]

    async def stop_all(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                await stop(proc, self.root / name / "up.log")


async def replies(bus: Bus) -> dict[int, dict[str, Any]]:
    """Every process's `alpha.status` reply, by pid."""
    out = {}
    for msg in await bus.gather_replies(STATUS_SUBJECT, b"", 1.0):
        body = json.loads(msg.data)
        out[body["process"]["pid"]] = body
    return out


async def owner_state(bus: Bus, proc: subprocess.Popen[bytes]) -> str | None:
    """The state of `owner:paper` in that process's tree (None: not answering yet)."""
    body = (await replies(bus)).get(proc.pid)
    if body is None:
        return None
    try:
        return str(find_actor(body["tree"], "owner:paper")["state"])
    except KeyError:
        return None


async def until(probe: Any, what: str, split: Split, timeout_s: float = 60) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not await probe():
                split.assert_running()
                await asyncio.sleep(0.2)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def bootstrap(cluster: NatsCluster, workdir: Path) -> None:
    """`ops bootstrap` as the operator: role users may not create streams."""
    env = clean_env(NATS_URL=cluster.url, NATS_USER="operator",
                    NATS_PASSWORD=cluster.password("operator"),
                    ALPHA_PANDA_DATA_DIR=str(workdir / "var"))  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ops.cli", "ops", "bootstrap", "--env", "production"],
        env=env, cwd=workdir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
async def split(clean_cluster: NatsCluster, tmp_path: Path) -> AsyncIterator[Split]:
    await bootstrap(clean_cluster, tmp_path)
    deployment = Split(clean_cluster, tmp_path)
    try:
        yield deployment
    finally:
        for proc in deployment.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


async def start_split(split: Split, bus: Bus, *, standby: bool = False) -> None:
    """Every role process, the owner holding the lease (and a standby behind it), then the
    feed last, so every consumer is bound before the first tick."""
    for name, roles in SPLIT.items():
        split.start(name, roles)
    owner = split.procs["owner"]
    await until(lambda: _in_state(bus, owner, "running"), "the owner to hold the lease", split)
    if standby:
        second = split.start("standby", OWNER_ROLES)
        await until(lambda: _in_state(bus, second, "standby"), "the standby to wait", split)

    async def all_running() -> bool:
        found = await replies(bus)
        return all(
            p.pid in found and found[p.pid]["tree"]["state"] in ("running", "standby")
            for p in split.procs.values()
        )

    await until(all_running, "every role process to run", split)
    split.start("feed", ("feed",))


async def _in_state(bus: Bus, proc: subprocess.Popen[bytes], state: str) -> bool:
    return await owner_state(bus, proc) == state


async def finish(split: Split, bus: Bus) -> dict[str, Any]:
    await wait_until_drained(bus, TICKS)
    result = await portfolio(bus)
    submitted, fills = await order_events(bus)
    result["_submitted"], result["_fills"] = submitted, fills
    return result


def assert_same_books(run: dict[str, Any], single: dict[str, Any]) -> None:
    assert single["fills"] > 50, "the run traded"
    assert book(run) == book(single)
    assert run["unrealized_pnl"] == single["unrealized_pnl"], "marked at the same last ticks"
    assert max(Counter(o.client_order_id for o in run["_submitted"]).values()) == 1
    fill_ids = Counter(f.fill_id for f in run["_fills"])
    assert max(fill_ids.values()) == 1, "no fill twice in the stream"
    # ids and times come from each run's own clock; what was filled, at what price, is the same
    assert Counter(map(_what, run["_fills"])) == Counter(map(_what, single["_fills"]))


def _what(fill: OrderFilled) -> tuple[object, ...]:
    """A fill without its ids and times: the strategy, instrument, side, size and price."""
    return (fill.strategy_id, fill.instrument_token, fill.side, fill.quantity, fill.price)


@pytest.mark.timeout(240)
async def test_split_roles_give_the_fills_and_pnl_of_one_process(
    split: Split, single_process: dict[str, Any]
) -> None:
    bus = await split.cluster.connect()
    try:
        await start_split(split, bus)
        run = await finish(split, bus)
        split.assert_running()
    finally:
        await bus.close()
    await split.stop_all()
    assert_same_books(run, single_process)
    assert sorted(split.ledger("owner")) == sorted(f.fill_id for f in run["_fills"])


@pytest.mark.timeout(240)
@pytest.mark.parametrize("victim", ["owner", "strategies"])
async def test_split_roles_a_sigkilled_role_process_restarted_loses_and_doubles_nothing(
    split: Split, single_process: dict[str, Any], victim: str
) -> None:
    bus = await split.cluster.connect()
    try:
        await start_split(split, bus)
        await until(lambda: _past(bus, 0.3), "the feed to be a third through", split)
        split.kill(victim)
        split.start(victim, SPLIT[victim])  # same data directory, as a process manager does
        run = await finish(split, bus)
        split.assert_running()
    finally:
        await bus.close()
    await split.stop_all()
    assert_same_books(run, single_process)
    ledger = split.ledger("owner")
    assert len(ledger) == len(set(ledger)), "no fill twice in the ledger"
    assert sorted(ledger) == sorted(f.fill_id for f in run["_fills"])


def with_password(url: str, password: str) -> str:
    """The test database's URL with a password (trust auth ignores it; production wants one)."""
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.timeout(240)
async def test_split_roles_a_standby_takes_over_the_stateful_roles_through_the_lease(
    split: Split,
    single_process: dict[str, Any],
    fresh_database_url: str,  # noqa: F811
) -> None:
    # the owner and its standby share one ledger, as they must: each dedups on the fill id
    split.extra["DATABASE_URL"] = with_password(fresh_database_url, "a-non-default-password")
    bus = await split.cluster.connect()
    try:
        await start_split(split, bus, standby=True)
        await until(lambda: _past(bus, 0.3), "the feed to be a third through", split)
        split.kill("owner")
        del split.procs["owner"]
        standby = split.procs["standby"]
        await until(lambda: _in_state(bus, standby, "running"), "the standby to take over",
                    split)  # fmt: skip
        run = await finish(split, bus)
        split.assert_running()
    finally:
        await bus.close()
    await split.stop_all()
    assert_same_books(run, single_process)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        ledger = [r["fill_id"] for r in await conn.fetch("SELECT fill_id FROM fills")]
    finally:
        await conn.close()
    assert len(ledger) == len(set(ledger)), "no fill twice in the shared ledger"
    assert sorted(ledger) == sorted(f.fill_id for f in run["_fills"])


async def _past(bus: Bus, fraction: float) -> bool:
    return await last_seq(bus, "MARKET") >= fraction * TICKS
