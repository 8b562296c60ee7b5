"""Shared fixtures: a real, throwaway nats-server with JetStream on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from schemas.permissions import USERS, permission_table
from supervisors.bus import Bus
from supervisors.embedded_nats import find_nats_server, free_port
from supervisors.nats_auth import UserStore, authorization_block

#: the app's own settings: a test sets what it needs, so a shell that exported them (a
#: user's Kite credentials, `eval` of `alpha-panda sim kite`'s export lines, a NATS_URL)
#: does not change what the tests see. TEST_DATABASE_URL and SCHEMA_REGISTRY_URL are the
#: tests' own and stay.
_APP_SETTINGS = ("ALPHA_PANDA_", "KITE_", "NATS_", "OTEL_")
_APP_URLS = ("REDIS_URL", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
for _name in [n for n in os.environ if n.startswith(_APP_SETTINGS) or n in _APP_URLS]:
    del os.environ[_name]


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 5 s; reaped either way."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class NatsServer:
    """A nats-server child process; `restart()` keeps the port and the store."""

    def __init__(self, config: Path | None = None) -> None:
        self.config = config  # a nats-server config file (authorization), else none
        self.port = free_port()
        self.store = Path(tempfile.mkdtemp(prefix="ap-nats-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.store / "server.log", "ab")  # noqa: SIM115
        config = self.config
        if config is None:
            # JetStream's default limit is 75% of the free disk; the production overlay's
            # stream reservations must not depend on how full this machine's disk is
            config = self.store / "limits.conf"
            config.write_text("jetstream {\n  max_file_store: 1T\n}\n")
        self.proc = subprocess.Popen(
            [find_nats_server(), "-c", str(config),
             "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        import socket
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start; see {self.store / 'server.log'}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.store, ignore_errors=True)


# Property tests have no deadline: hypothesis times each example (200 ms by default), and on
# a loaded 2-core machine a first example that pays for imports and warm-up passes that
# while the logic is fine. A hang is still caught by the per-test timeout.
settings.register_profile("alpha-panda", deadline=None)
settings.load_profile("alpha-panda")

# Debug mode (pyproject: asyncio_debug) reports every callback slower than this; a loaded
# 2-core machine stalls for a tenth of a second routinely, so only a real stall is named.
SLOW_CALLBACK_S = 1.0


@pytest.fixture(scope="session", autouse=True)
async def _debug_loop() -> None:
    """The session loop every test runs on: in debug mode, slow-callback threshold set."""
    loop = asyncio.get_running_loop()
    assert loop.get_debug(), "asyncio debug mode is off: set asyncio_debug in pyproject.toml"
    loop.slow_callback_duration = SLOW_CALLBACK_S


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    b = await Bus.connect(nats_url, name="tests")
    yield b
    await b.close()


@pytest.fixture
def fresh_nats() -> Iterator[NatsServer]:
    """A server of the test's own, for tests that restart or fill it."""
    server = NatsServer()
    server.start()
    yield server
    server.cleanup()


def unique(prefix: str) -> str:
    """A name no other test uses (streams and consumers live on a shared server)."""
    import uuid

    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


__all__ = ["NatsServer", "unique", "asyncio"]


@pytest.fixture
def guarded_server(tmp_path: Path) -> Iterator[tuple[NatsServer, UserStore]]:
    """A server with the trust boundary on (every user of the permission table), and
    the store holding their passwords."""
    store = UserStore(tmp_path / "nats-users.json", cost=4)
    table = permission_table()
    known = store.ensure(USERS)
    conf = tmp_path / "server.conf"
    conf.write_text(authorization_block(table, {u: known[u].bcrypt_hash for u in table}))
    server = NatsServer(conf)
    server.start()
    yield server, store
    server.cleanup()
