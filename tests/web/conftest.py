"""A real `alpha-panda up` (pages included) on a nats-server of its own, for the web tests.

One system serves a whole test module: the tests only read it over HTTP, except the
control tests, which halt and resume and wait for the state to come back.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from supervisors.embedded_nats import free_port
from tests.e2e.conftest import AlphaPanda, clean_env

REPO = Path(__file__).resolve().parents[2]
TOKEN = "web-test-token-0123456789abcdef"
KITE_SECRET = "kite-secret-never-shown-4711"
ARTIFACTS = REPO / "test-artifacts" / "web"


@dataclass
class System:
    base: str
    app: AlphaPanda
    env: dict[str, str]

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=15, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.base + path, timeout=15, **kw)

    def overview(self, broker: str = "paper") -> dict[str, Any]:
        data = self.get("/api/v1/overview").json()
        return next((b for b in data["brokers"] if b["broker"] == broker), {})


def wait_for(
    what: str, check: Callable[[], Any], timeout_s: float = 60, app: AlphaPanda | None = None
) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        if app is not None:
            app.assert_running()
        try:
            last = check()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout_s:g}s; last: {last!r}")


def start_system(workdir: Path, *, token: str | None = TOKEN) -> System:
    """`alpha-panda up` with no NATS_URL: its own authenticated embedded server, so the
    web role's NATS permissions are the ones enforced."""
    shutil.copy(REPO / "strategies.yaml", workdir)
    port = free_port()
    env = clean_env(
        ALPHA_PANDA_NATS_PORT="0",
        ALPHA_PANDA_WEB_ADDR=f"127.0.0.1:{port}",
        ALPHA_PANDA_PNL_INTERVAL_S="0.5",
        KITE_API_SECRET=KITE_SECRET,
        **({"ALPHA_PANDA_API_TOKEN": token} if token else {}),
    )
    log = workdir / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "up"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=out,
        )
    app = AlphaPanda(proc, log, workdir / "var")
    system = System(f"http://127.0.0.1:{port}", app, env)
    try:
        wait_for(
            "the pages answer /healthz", lambda: system.get("/healthz").status_code == 200, app=app
        )
        wait_for("paper fills", lambda: system.overview().get("fills", 0) > 0, app=app)
    except BaseException:
        stop_system(system)
        raise
    return system


def stop_system(system: System) -> None:
    if system.app.proc.poll() is None:
        system.app.proc.send_signal(signal.SIGTERM)
        try:
            system.app.proc.wait(30)
        except subprocess.TimeoutExpired:
            system.app.kill()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = start_system(tmp_path_factory.mktemp("web-up"))
    yield sys_
    stop_system(sys_)


def secrets_of(system: System) -> list[str]:
    """Every secret the running system holds: the API token, the Kite secret, and the NATS
    passwords its embedded credentials file keeps."""
    found = [TOKEN, KITE_SECRET]
    users = system.app.data_dir / "nats-users.json"
    if users.exists():
        for entry in json.loads(users.read_text())["users"].values():
            if isinstance(entry, dict) and entry.get("password"):
                found.append(str(entry["password"]))
    return found
