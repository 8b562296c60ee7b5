"""Running `alpha-panda` as a child process against a Kite simulator, for the zerodha tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.ops.sim.conftest import RunningSim

SECRET_NAMES = ("KITE_API_SECRET", "KITE_ACCESS_TOKEN", "KITE_REQUEST_TOKEN")


def cli_env(sim: RunningSim | None, data_dir: Path, *, with_token: bool = False) -> dict[str, str]:
    """The environment of a user who ran `sim kite` and evaluated its exports (by default
    without KITE_ACCESS_TOKEN, so the stored session is what counts)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KITE_", "ALPHA_PANDA_"))}
    if sim is not None:
        env |= {k: v for k, v in sim.env.items() if k != "KITE_REQUEST_TOKEN"}
        if not with_token:
            env.pop("KITE_ACCESS_TOKEN", None)
    env["ALPHA_PANDA_DATA_DIR"] = str(data_dir)
    return env


def run_cli(
    env: dict[str, str], cwd: Path, *args: str, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
