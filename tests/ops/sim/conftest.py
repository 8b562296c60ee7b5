"""A Kite simulator per test, run as the command a user runs, on free loopback ports."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from kiteconnect import KiteConnect


@dataclass
class RunningSim:
    env: dict[str, str]
    process: subprocess.Popen[str]

    def client(self, timeout: float = 7.0) -> KiteConnect:
        kite = KiteConnect(self.env["KITE_API_KEY"], root=self.env["KITE_ROOT"], timeout=timeout)
        kite.set_access_token(self.env["KITE_ACCESS_TOKEN"])
        return kite

    def faults(self, **faults: object) -> None:
        r = httpx.post(f"{self.env['KITE_ROOT']}/_sim/faults", json=faults, timeout=5)
        assert r.status_code == 200, r.text


@pytest.fixture
def kite_sim() -> Iterator[RunningSim]:
    with start_sim() as sim:
        yield sim


@contextlib.contextmanager
def start_sim(*extra: str) -> Iterator[RunningSim]:
    """`alpha-panda sim kite` on free ports with `extra` flags, stopped on exit."""
    cmd = [sys.executable, "-m", "ops.cli", "sim", "kite", "--port", "0", "--ws-port", "0"]
    cmd += ["--tick-interval-s", "0.005", *extra]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        env: dict[str, str] = {}
        for _ in range(5):
            line = process.stdout.readline()
            assert line.startswith("export "), f"the first lines are exports, got {line!r}"
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value
        line = process.stdout.readline()
        name, _, value = line.removeprefix("export ").strip().partition("=")
        env[name] = value
        assert set(env) >= {"KITE_ROOT", "KITE_WS_ROOT", "KITE_API_SECRET", "KITE_REQUEST_TOKEN"}
        yield RunningSim(env, process)
    finally:
        process.terminate()
        process.wait(10)
