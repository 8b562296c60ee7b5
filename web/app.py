"""The Starlette app: pages, `/api/v1` (figures, control, OpenAPI), health and `/metrics`.

Every failure answers JSON without a traceback: a refusal the caller can fix is a 4xx
naming the field, a dependency that is away (NATS, the gate) a 503 saying which, and
anything else a 500 whose detail goes to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from nats.errors import Error as NatsError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.api import api_routes
from web.context import WebContext
from web.control import control_routes
from web.docs import openapi_schema
from web.errors import ApiError
from web.health import health_routes
from web.metrics import metrics_app
from web.pages import page_routes

__all__ = ["create_app", "API_PREFIX"]

API_PREFIX = "/api/v1"

log = logging.getLogger(__name__)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"error": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _dependency_error(request: Request, exc: Exception) -> Response:
    log.warning(
        "%s %s: dependency failed: %s", request.method, request.url.path, type(exc).__name__
    )
    return JSONResponse(
        {"error": f"the running system did not answer ({type(exc).__name__}); retry shortly"},
        status_code=503,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"error": "internal error; the detail is in the server's log"}, status_code=500
    )


def create_app(web: WebContext) -> Starlette:
    api: list[BaseRoute] = [*api_routes(), *control_routes()]

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_schema(api, API_PREFIX))

    api.append(Route("/openapi.json", openapi))
    routes: list[BaseRoute] = [
        *page_routes(),
        *health_routes(),
        Mount(API_PREFIX, routes=api),
        Mount("/static", app=StaticFiles(packages=[("web", "static")]), name="static"),
        Route("/metrics", metrics_app()),
    ]
    handlers: dict[Any, Any] = {
        ApiError: _api_error,
        HTTPException: _http_error,
        NatsError: _dependency_error,
        TimeoutError: _dependency_error,
        ConnectionError: _dependency_error,
        Exception: _unexpected,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.web = web
    return app
