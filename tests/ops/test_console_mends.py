"""What a new user met, mended, against one real `alpha-panda up` on a NATS of its own:
money to the paisa in `status`, the feed's out count, invalid ticks counted, `halt` and
`portfolio` of a broker the system does not run, and the console's lines."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemas.names import TICK_PREFIX
from supervisors.bus import Bus
from tests.conftest import NatsServer

TOKEN = "the-systems-token-0123456789"
_FOREIGN = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL")


@dataclass
class Running:
    server: NatsServer
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    cwd: Path
    log: Path

    def cli(self, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if not token:
            env.pop("ALPHA_PANDA_API_TOKEN", None)
        return subprocess.run(
            [sys.executable, "-m", "ops.cli", *args], env=env, cwd=self.cwd,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        done = self.cli("status", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        body: dict[str, Any] = json.loads(done.stdout)
        return body


def _env(server: NatsServer, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    env.update(
        NATS_URL=server.url, ALPHA_PANDA_ENV="test", ALPHA_PANDA_DATA_DIR=str(data_dir),
        ALPHA_PANDA_API_TOKEN=TOKEN, ALPHA_PANDA_FEED_RATE="200",
        ALPHA_PANDA_PNL_INTERVAL_S="1", ALPHA_PANDA_BROKERS="paper",
    )  # fmt: skip
    return env


def wait_for(check: Any, what: str, timeout_s: float = 90, log: Path | None = None) -> Any:
    """Poll `check()` until it returns something truthy (a loaded machine is slow)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = check()
        except (AssertionError, json.JSONDecodeError, KeyError):
            got = None
        if got:
            return got
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    server = NatsServer()
    server.start()
    cwd = tmp_path_factory.mktemp("console")
    env = _env(server, cwd / "var")
    log = cwd / "up.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "up", "--summary-interval", "1"],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    system = Running(server, proc, env, cwd, log)
    try:
        wait_for(lambda: _fills(system.status()) > 0, "the paper broker to fill", log=log)
        yield system
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.cleanup()


def _fills(status: dict[str, Any]) -> int:
    return int(status["pipeline"]["paper"].get("fills", 0))


def _node(tree: dict[str, Any], name: str) -> dict[str, Any] | None:
    if tree.get("name") == name:
        return tree
    for child in tree.get("children", []):
        found = _node(child, name)
        if found is not None:
            return found
    return None


def test_status_prints_money_to_the_paisa(running: Running) -> None:
    done = running.cli("status")
    assert done.returncode == 0, done.stderr
    figures = re.findall(r"\b(realized_pnl|unrealized_pnl|charges|equity)=(\S+)", done.stdout)
    assert {k for k, _ in figures} >= {"realized_pnl", "unrealized_pnl", "charges", "equity"}
    for key, value in figures:
        assert re.fullmatch(r"-?[\d,]+\.\d\d", value), f"{key}={value}"
    pipeline = running.status()["pipeline"]["paper"]
    for key in ("realized_pnl", "unrealized_pnl", "charges", "equity"):
        assert re.fullmatch(r"-?\d+\.\d\d", pipeline[key]), f"JSON {key}={pipeline[key]}"


def test_the_feeds_out_counts_the_ticks_it_published(running: Running) -> None:
    status = running.status()
    feed = _node(status["tree"], "market-feed")
    assert feed is not None
    assert feed["outputs"] >= status["pipeline"]["market"]["ticks"] > 0
    assert feed["processed"] == 0, "the feed has no inputs"
    line = next(ln for ln in running.cli("status").stdout.splitlines() if "market-feed" in ln)
    assert re.search(r"out=[1-9]\d*", line), line


async def test_junk_ticks_dead_lettered_by_the_strategies_are_counted(running: Running) -> None:
    before = int(running.status()["pipeline"]["paper"].get("invalid_ticks", 0))
    traded = _traded_token()
    bus = await Bus.connect(running.server.url, name="test:junk")
    try:
        await bus.js.publish(f"{TICK_PREFIX}{traded}", b"this is not a tick")
        await bus.js.publish(f"{TICK_PREFIX}{traded}", b'{"type": "market.tick"}')
    finally:
        await bus.close()

    def counted() -> bool:
        return int(running.status()["pipeline"]["paper"]["invalid_ticks"]) >= before + 2

    wait_for(counted, "invalid_ticks to count the junk", log=running.log)
    listed = running.cli("dlq", "list", "--subject", f"{TICK_PREFIX}{traded}")
    assert listed.returncode == 0 and "DecodeError" in listed.stdout, listed.stdout


def _traded_token() -> int:
    """An instrument the paper strategies trade (they read only those ticks)."""
    from actors.instruments import InstrumentBook
    from actors.strategies.config import load_strategies_yaml

    book = InstrumentBook.default()
    configs = load_strategies_yaml(Path(__file__).parents[2] / "strategies.yaml", book)
    return next(t for c in configs if c.enabled and "paper" in c.brokers for t in c.tokens)


def test_halt_of_a_broker_the_system_does_not_run_is_refused_naming_the_running_ones(
    running: Running,
) -> None:
    done = running.cli("halt", "--broker", "zerodha")
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "broker zerodha is not running in this system (running: paper)" in out, out
    assert "stored" not in out
    ok = running.cli("reduce", "--broker", "paper", "--reason", "test")
    assert ok.returncode == 0 and "stored" in ok.stdout, ok.stdout + ok.stderr
    assert running.cli("resume", "--broker", "paper").returncode == 0


def test_portfolio_of_a_broker_the_system_does_not_run_says_so(running: Running) -> None:
    done = running.cli("portfolio", "--broker", "zerodha")
    assert done.returncode == 1
    assert "broker zerodha is not running in this system (running: paper)" in done.stdout
    assert "is `alpha-panda up` running" not in done.stdout
    paper = running.cli("portfolio")
    assert paper.returncode == 0 and "paper: cash" in paper.stdout, paper.stdout


def test_up_prints_a_summary_line_per_broker_and_a_final_summary_when_it_stops(
    running: Running,
) -> None:
    line = re.compile(
        r"\d\d:\d\d:\d\d paper (ACTIVE|REDUCING|HALTED): ticks/s [\d,.]+  signals [\d,]+  "
        r"rejections [\d,]+  fills [\d,]+  realized [-+]?[\d,]+\.\d\d  "
        r"unrealized [-+]?[\d,]+\.\d\d$"
    )
    lines = wait_for(
        lambda: [x for x in running.log.read_text().splitlines() if line.match(x)][:2],
        "two summary lines", log=running.log,
    )  # fmt: skip
    assert len(lines) == 2
    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(60) == 0
    text = running.log.read_text()
    final = text[text.index("final summary after") :].splitlines()
    assert re.match(r"  paper \w+: ticks [\d,]+  signals", final[2]), final
    assert "realized" in final[2] and "charges" in final[2] and "open positions" in final[2]
    assert any(x.startswith("    strategy ") for x in final[3:]), final
