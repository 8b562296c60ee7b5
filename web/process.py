"""The `web` role: the Starlette app under uvicorn, as a child of the supervision tree.

It binds its socket itself, so an address already in use fails at once with the variable
to change, and it is not retriable: the tree keeps trading without pages rather than
restarting into the same clash. uvicorn's own signal handling is bypassed, since the
launcher owns SIGINT and SIGTERM and stops the tree (and so this child) in order.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from schemas.errors import ConfigError
from supervisors.child import Ready

__all__ = ["WebServer", "WebAddressInUse", "bind"]

log = logging.getLogger(__name__)


class WebAddressInUse(ConfigError):
    """ALPHA_PANDA_WEB_ADDR cannot be bound."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise WebAddressInUse(
            f"the pages cannot listen on {host}:{port} ({exc.strerror}); set "
            "ALPHA_PANDA_WEB_ADDR to a free HOST:PORT, or run `up --role ...` without web"
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class WebServer:
    """A supervised child serving `app` on host:port until stopped."""

    def __init__(self, app: ASGIApp, host: str, port: int, *, name: str = "web") -> None:
        self.name = name
        self.app = app
        self.host, self.port = host, port
        self.state = "starting"
        self._server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def run(self, ready: Ready) -> None:
        sock = bind(self.host, self.port)
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            ws="none",
        )
        server = self._server = uvicorn.Server(config)
        serving = asyncio.create_task(server._serve([sock]), name="web-serve")
        try:
            # uvicorn signals its start by a flag only, so it is polled
            while not server.started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            if serving.done():
                serving.result()  # raises why it stopped
                raise RuntimeError("the web server stopped before it started")
            self.state = "running"
            ready()
            await serving
        finally:
            self.state = "stopped"
            if not serving.done():
                server.should_exit = True
                await asyncio.shield(serving)
            sock.close()

    def request_stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    def status(self) -> dict[str, Any]:
        return {"kind": "web", "state": self.state, "url": self.url}
