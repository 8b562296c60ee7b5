"""A real 3-node JetStream cluster of `nats-server` processes on free loopback ports.

Each node has its own client port, cluster (route) port, monitoring port and store; all
three carry the authorization block that `alpha-panda ops nats-config` writes (every user
of the permission table), so the production overlay's refusal of anonymous servers holds.
One cluster serves a whole test module (`nats_cluster`); `clean_cluster` wipes its streams
between tests. `NatsCluster.kill(i)` SIGKILLs a node and `restart(i)` brings it back on the
same ports and store.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats.errors
import nats.js.errors
import pytest

from schemas.permissions import OPERATOR, USERS, permission_table
from supervisors.bus import Bus
from supervisors.embedded_nats import find_nats_server, free_port
from supervisors.nats_auth import NatsAuth, UserStore, authorization_block
from tests.conftest import stop_process
from tests.faults.test_sigkill_recovery import last_seq, trading_events

__all__ = ["ClusterNode", "NatsCluster", "wait_until_current", "wait_until_drained"]

CLUSTER_NAME = "ap-test"


class ClusterNode:
    """One member of the cluster: a nats-server child process."""

    def __init__(self, name: str, store: Path) -> None:
        self.name = name
        self.port = free_port()
        self.route_port = free_port()
        self.http_port = free_port()
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self, routes: list[int], authorization: str) -> str:
        route_urls = ", ".join(f'"nats-route://127.0.0.1:{p}"' for p in routes)
        return "\n".join([
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
            # JetStream's default limit is 75% of the free disk; the production overlay's
            # reservations must not depend on how full this machine's disk is
            f'jetstream {{ store_dir: "{self.store / "js"}", max_file_store: 1T }}',
            "cluster {",
            f"  name: {CLUSTER_NAME}",
            f"  listen: 127.0.0.1:{self.route_port}",
            f"  routes: [{route_urls}]",
            "}",
            authorization,
        ])  # fmt: skip

    def start(self) -> None:
        log = open(self.store / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [find_nats_server(), "-c", str(self.store / "server.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"nats-server {self.name} did not start; see {self.store}/server.log")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as a machine losing power."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def jsz(self) -> dict[str, Any]:
        """The node's JetStream monitoring report (`/jsz`)."""
        url = f"http://127.0.0.1:{self.http_port}/jsz"
        with urllib.request.urlopen(url, timeout=2) as reply:
            body: dict[str, Any] = json.loads(reply.read())
        return body


class NatsCluster:
    """Three clustered nats-servers with the permission table's users."""

    def __init__(self, size: int = 3) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ap-cluster-"))
        self.users = UserStore(self.root / "nats-users.json", cost=4)
        known = self.users.ensure(USERS)
        table = permission_table()
        self.authorization = authorization_block(table, {u: known[u].bcrypt_hash for u in table})
        self.size = size
        self.nodes: list[ClusterNode] = []
        self._configure()

    def _configure(self) -> None:
        """Nodes on fresh free ports, each config naming every node's route."""
        self.nodes = []
        for i in range(self.size):
            store = self.root / f"n{i + 1}"
            shutil.rmtree(store, ignore_errors=True)
            store.mkdir()
            self.nodes.append(ClusterNode(f"n{i + 1}", store))
        routes = [n.route_port for n in self.nodes]
        for node in self.nodes:
            (node.store / "server.conf").write_text(node.config(routes, self.authorization))

    @property
    def url(self) -> str:
        """The seed list, as NATS_URL takes it: every node, comma-separated."""
        return ",".join(n.url for n in self.nodes)

    def password(self, user: str) -> str:
        return self.users.load()[user].password.reveal()

    def auth(self, user: str = OPERATOR) -> NatsAuth:
        return self.users.auth_for(user)

    def start(self, attempts: int = 3) -> None:
        """Start every node and wait for a meta leader. A port taken between choosing it and
        binding it (other tests pick free ports too) makes a node exit: then the whole
        cluster starts again on new ports."""
        for attempt in range(attempts):
            try:
                for node in self.nodes:
                    node.start()
                self.wait_for_meta_leader()
                return
            except RuntimeError:
                for node in self.nodes:
                    node.stop()
                if attempt == attempts - 1:
                    raise
                self._configure()

    def kill(self, index: int) -> None:
        self.nodes[index].kill()

    def restart(self, index: int) -> None:
        self.nodes[index].start()

    def node_serving(self, name_prefix: str) -> int:
        """The index of the running node that holds a client connection named so."""
        for i, node in enumerate(self.nodes):
            if node.proc is None:
                continue
            url = f"http://127.0.0.1:{node.http_port}/connz?limit=1024"
            with urllib.request.urlopen(url, timeout=2) as reply:
                conns = json.loads(reply.read()).get("connections") or []
            if any(str(c.get("name", "")).startswith(name_prefix) for c in conns):
                return i
        raise LookupError(f"no node serves a connection named {name_prefix}*")

    def wait_for_meta_leader(self, timeout_s: float = 30) -> str:
        """Poll every running node until all agree on a JetStream meta leader."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            leaders = set()
            for node in self.nodes:
                if node.proc is None:
                    continue
                if node.proc.poll() is not None:
                    raise RuntimeError(
                        f"nats-server {node.name} exited; see {node.store}/server.log"
                    )
                try:
                    meta = node.jsz().get("meta_cluster") or {}
                except OSError:
                    leaders.add("")
                    continue
                leaders.add(meta.get("leader") or "")
            if len(leaders) == 1 and "" not in leaders:
                return leaders.pop()
            time.sleep(0.1)
        raise RuntimeError(f"no JetStream meta leader after {timeout_s:g}s; see {self.root}")

    async def connect(self, name: str = "cluster-tests") -> Bus:
        return await Bus.connect(self.url, name=name, auth=self.auth())

    async def wipe(self) -> None:
        """Delete every stream (KV buckets included): the next test starts afresh."""
        bus = await self.connect("cluster-wipe")
        try:
            for name in await bus.js.streams_info():
                await bus.js.delete_stream(name.config.name or "")
        finally:
            await bus.close()

    def cleanup(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


async def wait_until_current(
    bus: Bus, streams: list[str], replicas: int = 3, timeout_s: float = 60
) -> dict[str, Any]:
    """Poll until every stream has `replicas` replicas, a leader and every follower current;
    returns the last stream infos."""
    infos: dict[str, Any] = {}
    async with asyncio.timeout(timeout_s):
        while True:
            infos = {s: await bus.js.stream_info(s) for s in streams}
            if all(_current(info, replicas) for info in infos.values()):
                return infos
            await asyncio.sleep(0.25)


def _current(info: Any, replicas: int) -> bool:
    cluster = info.cluster
    if info.config.num_replicas != replicas or cluster is None or not cluster.leader:
        return False
    followers = cluster.replicas or []
    return len(followers) == replicas - 1 and all(p.current and not p.offline for p in followers)


@pytest.fixture(scope="module")
def nats_cluster() -> Iterator[NatsCluster]:
    """One 3-node cluster for the whole module."""
    cluster = NatsCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
async def clean_cluster(nats_cluster: NatsCluster) -> NatsCluster:
    """The module's cluster, every node running and no stream left from an earlier test."""
    for i, node in enumerate(nats_cluster.nodes):
        if node.proc is None or node.proc.poll() is not None:
            nats_cluster.restart(i)
    nats_cluster.wait_for_meta_leader()
    await nats_cluster.wipe()
    return nats_cluster


async def _drained(bus: Bus, streams: tuple[str, ...]) -> bool:
    for stream in streams:
        for consumer in await bus.js.consumers_info(stream):
            if consumer.num_pending or consumer.num_ack_pending:
                return False
    return True


async def wait_until_drained(
    bus: Bus, ticks: int, streams: tuple[str, ...] = ("MARKET", "PAPER"), timeout_s: float = 150
) -> None:
    """All `ticks` stored, every consumer of `streams` with nothing pending or unacked, and
    no new signal or order event for three seconds. After a node loss, elections and
    redeliveries (the production overlay's ack wait is 30 s) take a while, so "quiet for a
    moment" alone would call a run settled while inputs still wait for redelivery."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                if await last_seq(bus, "MARKET") >= ticks and await _drained(bus, streams):
                    before = await trading_events(bus)
                    await asyncio.sleep(3)
                    if await trading_events(bus) == before and await _drained(bus, streams):
                        return
            except (nats.errors.TimeoutError, nats.js.errors.APIError):
                pass  # a leader being elected: ask again
            await asyncio.sleep(0.5)
