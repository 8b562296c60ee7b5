"""How commands find the server and their credentials; external servers, TLS, production."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.nats_access import client_auth, nats_target, prepare_embedded, settings_auth, tls_context
from ops.preflight import check_refuses_anonymous
from ops.settings import load_settings
from schemas.errors import ConfigError
from schemas.permissions import OPERATOR, ROLES, USERS
from supervisors.bus import Bus
from supervisors.embedded_nats import find_nats_server, free_port
from supervisors.nats_auth import UserStore
from tests.conftest import NatsServer

_NATS_VARS = ("NATS_URL", "NATS_CREDS", "NATS_USER", "NATS_PASSWORD", "NATS_NKEY_SEED",
              "NATS_TOKEN", "NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY", "ALPHA_PANDA_ENV",
              "ALPHA_PANDA_DATA_DIR")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in _NATS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_user_and_password_go_together_and_one_way_to_authenticate_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NATS_USER", "risk")
    with pytest.raises(ConfigError, match="NATS_USER and NATS_PASSWORD go together"):
        load_settings()
    monkeypatch.setenv("NATS_PASSWORD", "pw-of-risk")
    monkeypatch.setenv("NATS_TOKEN", "a-token")
    with pytest.raises(ConfigError, match="set one way to authenticate.*NATS_CREDS"):
        load_settings()
    monkeypatch.delenv("NATS_TOKEN")
    monkeypatch.setenv("NATS_TLS_CA", "/no/such/ca.pem")
    with pytest.raises(ConfigError, match="NATS_TLS_CA.*does not exist"):
        load_settings()


def test_nats_secrets_are_masked_in_settings_and_in_the_connection_description(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NATS_USER", "risk")
    monkeypatch.setenv("NATS_PASSWORD", "pw-of-risk-123")
    settings = load_settings()
    auth = settings_auth(settings)
    shown = repr(settings) + repr(auth) + auth.describe()
    assert "pw-of-risk-123" not in shown
    assert auth.describe() == "user risk"
    assert auth.connect_options()["password"] == "pw-of-risk-123"


def test_commands_use_the_operator_of_the_running_embedded_server_in_this_directory(
    tmp_path: Path,
) -> None:
    access = prepare_embedded(tmp_path / "var", ("feed", "risk"))
    assert access.process.user == "app" and access.admin.user == OPERATOR
    (tmp_path / "var" / "nats.url").write_text("nats://127.0.0.1:4999\n")
    target = nats_target(load_settings())
    assert target.url == "nats://127.0.0.1:4999" and target.auth.user == OPERATOR
    other = client_auth(load_settings(), "nats://elsewhere:4222")
    assert other.anonymous, "another server gets none of this directory's passwords"
    config = (tmp_path / "var" / "nats-auth.conf").read_text()
    assert stat.S_IMODE((tmp_path / "var" / "nats-auth.conf").stat().st_mode) == 0o600
    assert config.count("user:") == len(USERS)


def test_a_credentials_file_others_can_read_stops_up_naming_chmod(tmp_path: Path) -> None:
    prepare_embedded(tmp_path / "var", ROLES)
    os.chmod(tmp_path / "var" / "nats-users.json", 0o644)
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "up", "--duration", "1"], cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in _NATS_VARS},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "chmod 600" in done.stderr and "Traceback" not in done.stderr


async def test_production_refuses_a_server_that_lets_anonymous_clients_in(
    nats_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="accepts clients without credentials.*NATS_CREDS"):
        await check_refuses_anonymous(nats_url)
    store = UserStore(tmp_path / "u.json", cost=4)
    store.ensure(("feed",))
    conf = tmp_path / "server.conf"
    hashed = store.load()["feed"].bcrypt_hash
    conf.write_text(f'authorization {{ users = [ {{user: "feed", password: "{hashed}"}} ] }}\n')
    server = NatsServer(conf)
    server.start()
    try:
        await check_refuses_anonymous(server.url)  # refused: fine
    finally:
        server.cleanup()


def test_production_up_against_an_open_server_exits_naming_the_fix(
    nats_url: str, tmp_path: Path
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _NATS_VARS and not k.startswith("ALPHA_PANDA")
    }
    env.update(NATS_URL=nats_url, ALPHA_PANDA_ENV="production",
               ALPHA_PANDA_API_TOKEN="x7Gm2pQv9LsT4wRz8NcK", ALPHA_PANDA_WEB_ADDR=f"127.0.0.1:{free_port()}")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "up", "--duration", "5"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "accepts clients without credentials" in done.stderr
    assert "NATS_USER/NATS_PASSWORD" in done.stderr


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A nats-server that speaks only TLS, with a certificate from a throwaway CA."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext")  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [find_nats_server(), "-a", "127.0.0.1", "-p", str(port), "--tls", "--tlscert",
         str(tmp_path / "server.pem"), "--tlskey", str(tmp_path / "server.key")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"tls://127.0.0.1:{port}", tmp_path / "ca.pem"
    proc.terminate()
    proc.wait(5)


async def test_tls_to_an_external_server_uses_the_ca_of_the_settings(
    tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = tls_server
    monkeypatch.setenv("NATS_URL", url)
    monkeypatch.setenv("NATS_TLS_CA", str(ca))
    target = nats_target(load_settings())
    assert target.auth.tls is not None and target.auth.describe() == "anonymous, tls"
    bus = await target.connect("test:tls")
    try:
        assert bus.connected
    finally:
        await bus.close()
    assert tls_context(load_settings()) is not None


def test_nats_config_shows_the_table_and_writes_a_block_a_server_accepts(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops.cli", "ops", "nats-config", *args], cwd=tmp_path,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    shown = run("--show")
    assert shown.returncode == 0
    assert [line.split()[1] for line in shown.stdout.splitlines() if line.startswith("user ")] == list(USERS)  # fmt: skip
    as_json = json.loads(run("--show", "--json").stdout)
    assert "market.ticks.>" in as_json["feed"]["publish"]
    written = run("--out", "auth.conf")
    assert written.returncode == 0, written.stderr
    creds = tmp_path / "auth.conf.credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    passwords = json.loads(creds.read_text())["users"]
    block = (tmp_path / "auth.conf").read_text()
    assert not any(p["password"] in block for p in passwords.values())
    assert not any(p["password"] in shown.stdout + written.stdout for p in passwords.values())
    again = run("--out", "auth.conf")
    assert again.returncode == 0
    assert (
        json.loads(creds.read_text())["users"]["feed"]["password"] == passwords["feed"]["password"]
    )
    server = NatsServer(tmp_path / "auth.conf")
    server.start()

    async def connect_as_feed() -> bool:
        bus = await Bus.connect(server.url, auth=UserStore(creds).auth_for("feed"))
        try:
            return bus.connected
        finally:
            await bus.close()

    try:
        assert asyncio.run(connect_as_feed())
    finally:
        server.cleanup()


def test_credentials_inside_a_nats_url_are_masked_for_messages() -> None:
    from supervisors.nats_auth import redact_url

    assert redact_url("nats://risk:s3cret@nats.example:4222") == "nats://risk:***@nats.example:4222"
    assert redact_url("nats://tok3n@nats.example:4222") == "nats://***@nats.example:4222"
    assert redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"


@pytest.mark.parametrize("way", ["nkey", "nkey file", "token"])
async def test_an_external_server_is_reached_with_an_nkey_seed_or_a_token(
    way: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nkeys

    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()
    public = nkeys.from_seed(bytearray(seed.encode())).public_key.decode()
    token = "tok-" + os.urandom(16).hex()
    conf = tmp_path / "server.conf"
    if way == "token":
        conf.write_text(f'authorization {{ token: "{token}" }}\n')
        monkeypatch.setenv("NATS_TOKEN", token)
    else:
        conf.write_text(f'authorization {{ users = [ {{nkey: "{public}"}} ] }}\n')
        if way == "nkey file":
            seed_file = tmp_path / "user.nk"
            seed_file.write_text(seed + "\n")
            seed_file.chmod(0o600)
            monkeypatch.setenv("NATS_NKEY_SEED", str(seed_file))
        else:
            monkeypatch.setenv("NATS_NKEY_SEED", seed)
    server = NatsServer(conf)
    server.start()
    try:
        monkeypatch.setenv("NATS_URL", server.url)
        target = nats_target(load_settings())
        assert seed not in repr(target) and token not in repr(target)
        bus = await target.connect("test:external")
        assert bus.connected
        await bus.close()
        with pytest.raises(Exception, match="(?i)authorization"):
            await Bus.connect(server.url)
    finally:
        server.cleanup()
