"""`alpha-panda zerodha login|status|logout` against `alpha-panda sim kite`, as a user runs
them: the official client exchanges the simulator's request token, the access token is
stored owner-only, and no secret shows in any output."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kiteconnect import KiteConnect

from actors.kite.session_store import IST, read_session, session_path
from tests.ops.sim.conftest import RunningSim, start_sim
from tests.ops.zerodha_cli import SECRET_NAMES, cli_env, run_cli


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim() as running:
        yield running


def _assert_no_secret(sim: RunningSim, *texts: str, extra: tuple[str, ...] = ()) -> None:
    secrets = [sim.env[n] for n in SECRET_NAMES] + list(extra)
    for text in texts:
        for secret in secrets:
            assert secret not in text, "a secret was printed"


def test_login_with_the_pasted_redirect_url_stores_a_token_kite_accepts(
    sim: RunningSim, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    env = cli_env(sim, data)
    url = f"http://127.0.0.1:5000/?action=login&type=login&status=success&request_token={sim.env['KITE_REQUEST_TOKEN']}"
    done = run_cli(env, tmp_path, "zerodha", "login", stdin=url + "\n")
    assert done.returncode == 0, done.stderr
    assert f"api_key={sim.env['KITE_API_KEY']}" in done.stdout  # the login URL
    assert "logged in as SIM001" in done.stdout
    path = session_path(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = read_session(data)
    assert stored is not None and stored.user_id == "SIM001"
    local = stored.expires_at.astimezone(IST)
    assert (local.hour, local.minute) == (6, 0) and stored.expires_at > stored.login_time
    assert (stored.expires_at - stored.login_time).total_seconds() <= 24 * 3600
    access = stored.access_token.get_secret_value()
    kite = KiteConnect(sim.env["KITE_API_KEY"], root=sim.env["KITE_ROOT"])
    kite.set_access_token(access)
    assert kite.profile()["user_id"] == "SIM001"

    status = run_cli(env, tmp_path, "zerodha", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "SIM001" in status.stdout and "Kite accepts it" in status.stdout
    _assert_no_secret(sim, done.stdout, done.stderr, status.stdout, status.stderr, extra=(access,))
    assert access not in repr(stored)


def test_login_with_the_bare_token_pasted_works_too(sim: RunningSim, tmp_path: Path) -> None:
    env = cli_env(sim, tmp_path / "var")
    done = run_cli(env, tmp_path, "zerodha", "login", stdin=sim.env["KITE_REQUEST_TOKEN"] + "\n")
    assert done.returncode == 0, done.stderr
    assert read_session(tmp_path / "var") is not None


def test_a_wrong_request_token_fails_with_kites_reason_and_stores_nothing(
    sim: RunningSim, tmp_path: Path
) -> None:
    env = cli_env(sim, tmp_path / "var")
    done = run_cli(env, tmp_path, "zerodha", "login", stdin="abc123\n")
    assert done.returncode == 2
    assert "Kite refused the login (TokenException" in done.stderr
    assert "Traceback" not in done.stderr
    assert not session_path(tmp_path / "var").exists()


def test_a_failed_redirect_status_is_named(sim: RunningSim, tmp_path: Path) -> None:
    env = cli_env(sim, tmp_path / "var")
    done = run_cli(env, tmp_path, "zerodha", "login", stdin="http://x/?status=cancelled\n")
    assert done.returncode == 2 and "status='cancelled'" in done.stderr


def test_login_catches_the_redirect_on_a_local_listener(sim: RunningSim, tmp_path: Path) -> None:
    env = cli_env(sim, tmp_path / "var")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "zerodha", "login", "--listen", "127.0.0.1:0",
         "--timeout", "60"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        listen = ""
        deadline = time.monotonic() + 60
        while not listen and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the login ended before it listened"
            if "waiting for Kite's redirect on " in line:
                listen = line.split(" on ", 1)[1].split()[0]
        token = sim.env["KITE_REQUEST_TOKEN"]
        page = httpx.get(f"{listen}?request_token={token}&action=login&status=success", timeout=30)
        assert page.status_code == 200 and token not in page.text
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "logged in as SIM001" in out
    assert read_session(tmp_path / "var") is not None
    _assert_no_secret(sim, out, err)


def test_a_group_readable_session_file_is_refused_with_the_chmod_fix(
    sim: RunningSim, tmp_path: Path
) -> None:
    env = cli_env(sim, tmp_path / "var")
    assert (
        run_cli(env, tmp_path, "zerodha", "login", stdin=sim.env["KITE_REQUEST_TOKEN"]).returncode
        == 0
    )
    path = session_path(tmp_path / "var")
    path.chmod(0o644)
    status = run_cli(env, tmp_path, "zerodha", "status")
    assert status.returncode == 2
    assert f"chmod 600 {path}" in status.stderr and "Traceback" not in status.stderr


def test_logout_deletes_the_stored_session(sim: RunningSim, tmp_path: Path) -> None:
    env = cli_env(sim, tmp_path / "var")
    assert (
        run_cli(env, tmp_path, "zerodha", "login", stdin=sim.env["KITE_REQUEST_TOKEN"]).returncode
        == 0
    )
    done = run_cli(env, tmp_path, "zerodha", "logout")
    assert done.returncode == 0, done.stderr
    assert not session_path(tmp_path / "var").exists()
    status = run_cli(env, tmp_path, "zerodha", "status")
    assert status.returncode == 1 and "zerodha login" in status.stdout


def _expire(data: Path) -> None:
    path = session_path(data)
    body = json.loads(path.read_text())
    body["login_time"], body["expires_at"] = (
        "2020-01-01T09:00:00+05:30",
        "2020-01-02T06:00:00+05:30",
    )
    path.write_text(json.dumps(body))


def test_up_with_zerodha_and_no_session_exits_naming_the_login(
    sim: RunningSim, tmp_path: Path
) -> None:
    env = cli_env(sim, tmp_path / "var") | {"ALPHA_PANDA_BROKERS": "paper,zerodha"}
    done = run_cli(env, tmp_path, "up", "--duration", "5")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "alpha-panda zerodha login" in done.stderr and "Traceback" not in done.stderr


def test_up_with_zerodha_and_no_api_key_names_the_variable(tmp_path: Path) -> None:
    env = cli_env(None, tmp_path / "var") | {"ALPHA_PANDA_BROKERS": "paper,zerodha"}
    done = run_cli(env, tmp_path, "up", "--duration", "5")
    assert done.returncode == 2 and "KITE_API_KEY" in done.stderr


def test_up_with_an_expired_stored_session_exits_naming_the_login(
    sim: RunningSim, tmp_path: Path
) -> None:
    env = cli_env(sim, tmp_path / "var")
    assert (
        run_cli(env, tmp_path, "zerodha", "login", stdin=sim.env["KITE_REQUEST_TOKEN"]).returncode
        == 0
    )
    _expire(tmp_path / "var")
    done = run_cli(
        env | {"ALPHA_PANDA_BROKERS": "paper,zerodha"}, tmp_path, "up", "--duration", "5"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "expired at 06:00 IST on 2020-01-02" in done.stderr
    assert "alpha-panda zerodha login" in done.stderr and "Traceback" not in done.stderr


def test_up_with_a_token_kite_rejects_exits_naming_the_login(tmp_path: Path) -> None:
    with start_sim() as sim:
        env = cli_env(sim, tmp_path / "var", with_token=True)
        sim.faults(expire_token=True)
        done = run_cli(
            env | {"ALPHA_PANDA_BROKERS": "paper,zerodha"}, tmp_path, "up", "--duration", "5"
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert "TokenException" in done.stderr and "alpha-panda zerodha login" in done.stderr
        assert "Traceback" not in done.stderr
        _assert_no_secret(sim, done.stdout, done.stderr)


@pytest.mark.parametrize(
    "pasted",
    [
        "http://127.0.0.1:5000/?action=login&status=success&request_token=Ab12",
        "https://example.in/kite/callback?request_token=Ab12&action=login&status=success",
        "?request_token=Ab12&status=success",
        "request_token=Ab12&status=success",
        "  Ab12 \n",
    ],
)
def test_the_request_token_is_taken_from_whatever_was_pasted(pasted: str) -> None:
    from ops.commands.zerodha import parse_request_token

    assert parse_request_token(pasted) == "Ab12"
