"""A Kite simulator per test (`alpha-panda sim kite` on free ports), as tests/ops/sim has,
killed when a request it holds on purpose (a timeout fault) outlasts a graceful stop."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from actors.kite.order_limits import reset_limits
from tests.ops.sim.conftest import RunningSim


@contextlib.contextmanager
def kite_sim_with(*flags: str) -> Iterator[RunningSim]:
    cmd = [sys.executable, "-m", "ops.cli", "sim", "kite", "--port", "0", "--ws-port", "0",
           "--tick-interval-s", "0.005", *flags]  # fmt: skip
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        env: dict[str, str] = {}
        while len(env) < 6:
            line = process.stdout.readline()
            assert line.startswith("export "), f"the first lines are exports, got {line!r}"
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value
        yield RunningSim(env, process)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def kite_sim() -> Iterator[RunningSim]:
    reset_limits()
    with kite_sim_with() as sim:
        yield sim
