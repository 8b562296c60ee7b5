"""`/metrics`: the process's Prometheus registry as text, for scrapers."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from supervisors.telemetry.exposition import metrics_app as registry_app

__all__ = ["metrics_app"]


class _Exposition:
    """An ASGI app object (not a function), so a Route serves `/metrics` itself, with no
    redirect to `/metrics/` as a Mount would answer."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def metrics_app() -> ASGIApp:
    """The exposition app over the process's registry (actors, brokers, bridge; the tree's
    figures are read at scrape time)."""
    return _Exposition(registry_app())
