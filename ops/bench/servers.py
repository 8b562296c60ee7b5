"""Throwaway servers for one benchmark phase: nats-server (JetStream) and Tansu (Kafka API).

Each runs on a free loopback port with its store in a temporary directory, and its peak
resident memory is read from `/proc` before it stops.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from ops.bench.local_kafka import find_tansu
from ops.bench.procstat import cpu_s
from supervisors.embedded_nats import (
    die_with_parent,
    find_nats_server,
    free_port,
    terminate,
    wait_listening,
)

__all__ = ["ServerProcess", "start_nats", "start_tansu", "find_tansu", "peak_rss_mib"]


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident set size (VmHWM) of a process, in MiB; 0 when unknown."""
    path = Path(f"/proc/{pid or os.getpid()}/status")
    try:
        for line in path.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


class ServerProcess:
    """A child server; `stop()` is safe to call twice and removes its directory."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, url: str, workdir: Path):
        self.name = name
        self.proc = proc
        self.url = url
        self.workdir = workdir
        self.peak_rss_mib = 0.0
        self.cpu_s = 0.0  # user + system CPU seconds over its life, read as it stops

    def cpu_now_s(self) -> float:
        """CPU seconds the server has used so far (0 once stopped)."""
        return cpu_s(self.proc.pid) if self.proc.returncode is None else 0.0

    async def stop(self) -> None:
        proc = self.proc
        if proc.returncode is None:
            self.peak_rss_mib = peak_rss_mib(proc.pid)
            self.cpu_s = cpu_s(proc.pid) or self.cpu_s
        await terminate(proc)
        shutil.rmtree(self.workdir, ignore_errors=True)


async def _start(name: str, argv: list[str], port: int, url: str, workdir: Path) -> ServerProcess:
    log = (workdir / f"{name}.log").open("ab")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=log, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": "warn"}, preexec_fn=die_with_parent,
        )  # fmt: skip
    finally:
        log.close()
    server = ServerProcess(name, proc, url, workdir)
    if await wait_listening(proc, "127.0.0.1", port, 10.0):
        return server
    tail = (workdir / f"{name}.log").read_text(errors="replace")[-2000:]
    await server.stop()
    raise RuntimeError(f"{name} did not start on port {port}: {tail}")


async def start_nats() -> ServerProcess:
    """nats-server with JetStream (file storage, as `alpha-panda up` runs it)."""
    workdir = Path(tempfile.mkdtemp(prefix="ap-bench-nats-"))
    port = free_port()
    argv = [find_nats_server(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(workdir)]
    return await _start("nats-server", argv, port, f"nats://127.0.0.1:{port}", workdir)


async def start_tansu() -> ServerProcess:
    """Tansu with in-memory storage, the Kafka-protocol broker the tests use."""
    workdir = Path(tempfile.mkdtemp(prefix="ap-bench-tansu-"))
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    argv = [
        find_tansu(), "broker", "--listener-url", listener,
        "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    return await _start("tansu", argv, port, f"127.0.0.1:{port}", workdir)
