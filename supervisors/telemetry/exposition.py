"""Serving the metrics: an ASGI app for the web role, and a small server of its own for a
process that runs actors without it (`ALPHA_PANDA_METRICS_ADDR`).

The server runs on the process's event loop, not in a thread as
`prometheus_client.start_http_server` would: the tree collector reads actor state at scrape
time, and that state belongs to the loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, make_asgi_app
from prometheus_client.registry import CollectorRegistry

__all__ = ["MetricsApp", "MetricsServer", "metrics_app", "parse_addr"]

log = logging.getLogger(__name__)


class MetricsApp:
    """An ASGI app answering a scrape with the registry.

    A class instance, not a function, so that Starlette's `Route("/metrics", metrics_app())`
    serves it as an ASGI app (a plain function there is taken for a request handler) and
    `/metrics` answers without the redirect to `/metrics/` a `Mount` would add.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._app = make_asgi_app(registry)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


def metrics_app(registry: CollectorRegistry = REGISTRY) -> MetricsApp:
    """The ASGI app of `/metrics` for the web role (the process's default registry)."""
    return MetricsApp(registry)


def parse_addr(value: str) -> tuple[str, int]:
    """`host:port` (or `:port`, every interface) → (host, port); ValueError names the fix."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"metrics address {value!r}: expected host:port, e.g. 127.0.0.1:9464")
    return host or "0.0.0.0", int(port)


class MetricsServer:
    """`GET /metrics` (any path answers the same) on the loop; one request per connection."""

    def __init__(self, addr: str, registry: CollectorRegistry = REGISTRY) -> None:
        self.host, self.port = parse_addr(addr)
        self._registry = registry
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, self.host, self.port)
        sock = self._server.sockets[0].getsockname()
        self.port = int(sock[1])  # port 0 picks a free one
        log.info("metrics on %s", self.url)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request = await reader.readuntil(b"\r\n\r\n")
            method = request.split(b" ", 1)[0]
            if method not in (b"GET", b"HEAD"):
                body, status, ctype = b"only GET\n", b"405 Method Not Allowed", b"text/plain"
            else:
                body, status = generate_latest(self._registry), b"200 OK"
                ctype = CONTENT_TYPE_LATEST.encode()
            head = (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype
                    + b"\r\nContent-Length: " + str(len(body)).encode()
                    + b"\r\nConnection: close\r\n\r\n")  # fmt: skip
            writer.write(head if method == b"HEAD" else head + body)
            await writer.drain()
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
        ):
            pass  # a client that went away or spoke no HTTP: nothing to answer
        except Exception:  # a collector that failed: the scrape fails, never the process
            log.exception("metrics scrape failed")
        finally:
            writer.close()
