"""The NATS servers of compose.yaml: the bus-auth script turns .env's passwords into the
authorization block of `alpha-panda ops nats-config`, which the servers' config includes,
and a server started from that config lets each role in with its own password only."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoServersError

from supervisors.embedded_nats import find_nats_server, free_port
from tests.compose.stack import ROOT, environment, services

SCRIPT = ROOT / "ops/compose/nats-auth.sh"
CONFIG = ROOT / "ops/compose/nats.conf"
PASSWORDS = {
    key: f"{key.lower()}-compose-test-pw"
    for key in environment(services()["bus-auth"])
    if key.startswith("NATS_PASSWORD_")
}


@pytest.fixture(scope="module")
def etc_nats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/etc/nats as compose.yaml lays it out: nats.conf beside the auth/ the script fills."""
    etc = tmp_path_factory.mktemp("etc-nats")
    shutil.copy(CONFIG, etc / "nats.conf")
    bin_dir = str(Path(sys.executable).parent)  # alpha-panda and python of this venv
    env = {**os.environ, **PASSWORDS, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["sh", str(SCRIPT), str(etc / "auth")], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return etc


def test_the_script_writes_bcrypt_hashes_and_no_plaintext(etc_nats: Path) -> None:
    block = (etc_nats / "auth" / "authorization.conf").read_text()
    assert block.startswith("authorization {")
    for password in PASSWORDS.values():
        assert password not in block
    assert block.count('password: "$2b$') >= len(PASSWORDS)
    assert [p.name for p in (etc_nats / "auth").iterdir()] == ["authorization.conf"]


def test_nats_server_accepts_the_compose_config(etc_nats: Path) -> None:
    done = subprocess.run(
        [find_nats_server(), "-t", "-c", str(etc_nats / "nats.conf")],
        env={**os.environ, "NATS_SERVER_NAME": "nats-1"}, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def lone_node(etc_nats: Path, tmp_path: Path) -> Iterator[str]:
    """One node from the compose config on loopback ports, its store in tmp_path and its
    routes pointed at a port nobody listens on: without quorum it still authenticates."""
    port = free_port()
    live = etc_nats / "live.conf"
    text = (etc_nats / "nats.conf").read_text()
    assert "store_dir: /data" in text
    live.write_text(text.replace("store_dir: /data", f"store_dir: {json.dumps(str(tmp_path))}"))
    proc = subprocess.Popen(
        [find_nats_server(), "-c", str(live), "-a", "127.0.0.1",
         "-p", str(port), "-m", str(free_port()),
         "--cluster_listen", f"nats://127.0.0.1:{free_port()}",
         "--routes", f"nats://127.0.0.1:{free_port()}"],
        env={**os.environ, "NATS_SERVER_NAME": "nats-1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yield f"nats://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


async def test_a_node_lets_each_role_in_with_its_own_password_only(lone_node: str) -> None:
    feed = await _connect(lone_node, "feed", PASSWORDS["NATS_PASSWORD_FEED"])
    assert feed.is_connected
    await feed.close()
    with pytest.raises(nats.errors.Error):
        await nats.connect(
            lone_node, user="feed", password=PASSWORDS["NATS_PASSWORD_WEB"],
            allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0,
        )  # fmt: skip


async def _connect(url: str, user: str, password: str) -> Client:
    """Connect, retrying while the server is still starting (generous deadline)."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        try:
            return await nats.connect(
                url, user=user, password=password, allow_reconnect=False, connect_timeout=2,
                max_reconnect_attempts=0,
            )  # fmt: skip
        except (NoServersError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
