"""Server-rendered pages and their live updates.

Each page is a shell (`base.html`) around one live region rendered from a partial
template. The region is rendered by the same code for the first load and for every
server-sent event on `/events/<page>`, which pushes the re-rendered region whenever its
figures change, so the browser needs no templates and no build step of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from schemas.names import Broker, parse_broker
from web import formatting, queries
from web.context import WebContext
from web.control import ENABLE_HINT
from web.errors import ApiError
from web.params import broker_param, choice_query, int_query, text_query

__all__ = ["page_routes", "templates", "PAGES"]

#: how often a live region is re-rendered for its subscribers
REFRESH_S = 1.0

Ctx = Callable[[WebContext, Request], Awaitable[dict[str, Any]]]


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=formatting.money,
        signed=formatting.signed_money,
        pnl=formatting.pnl_class,
        count=formatting.count,
        rate=formatting.rate,
        clock=formatting.clock,
    )
    return env


templates = _env()


async def _broker(web: WebContext, request: Request) -> Broker:
    running = await queries.running_brokers(web)
    if "broker" not in request.query_params:
        return parse_broker(running[0] if running else "paper")
    request.path_params["broker"] = request.query_params["broker"]
    return broker_param(request)


async def _overview(web: WebContext, request: Request) -> dict[str, Any]:
    return await queries.overview(web)


async def _tree(web: WebContext, request: Request) -> dict[str, Any]:
    return await queries.tree(web)


async def _portfolio(web: WebContext, request: Request) -> dict[str, Any]:
    broker = await _broker(web, request)
    by = choice_query(request, "by", ("instrument", "strategy")) or "instrument"
    return {
        "p": await queries.portfolio(web, broker),
        "by": by,
        "brokers": await queries.running_brokers(web),
    }


async def _blotter(web: WebContext, request: Request) -> dict[str, Any]:
    broker = await _broker(web, request)
    filters = {
        "event": choice_query(request, "event", queries.BLOTTER_EVENTS),
        "strategy": text_query(request, "strategy"),
        "symbol": text_query(request, "symbol"),
        "side": choice_query(request, "side", ("BUY", "SELL")),
    }
    limit = int_query(request, "limit", 100, 1, 500)
    data = await queries.orders(web, broker, limit, **filters)
    return {
        "o": data,
        "brokers": await queries.running_brokers(web),
        "events": queries.BLOTTER_EVENTS,
        "strategy_ids": [s["id"] for s in web.strategies],
    }


async def _strategies(web: WebContext, request: Request) -> dict[str, Any]:
    return await queries.strategies(web)


async def _dlq(web: WebContext, request: Request) -> dict[str, Any]:
    return await queries.dead_letters(web, int_query(request, "limit", 100, 1, 500))


async def _bridge(web: WebContext, request: Request) -> dict[str, Any]:
    return {"b": await queries.bridge(web)}


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    context: Ctx


PAGES: dict[str, Page] = {
    "overview": Page("/", "Overview", _overview),
    "tree": Page("/tree", "Supervision", _tree),
    "portfolio": Page("/portfolio", "Portfolio", _portfolio),
    "blotter": Page("/blotter", "Blotter", _blotter),
    "strategies": Page("/strategies", "Strategies", _strategies),
    "dlq": Page("/dlq", "Dead letters", _dlq),
    "bridge": Page("/bridge", "Bridge", _bridge),
}


async def _render_region(name: str, request: Request) -> str:
    web: WebContext = request.app.state.web
    try:
        ctx = await PAGES[name].context(web, request)
    except ApiError as exc:
        return templates.get_template("error.html").render(message=exc.message)
    return templates.get_template(f"{name}.html").render(**ctx, query=request.query_params)


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        web: WebContext = request.app.state.web
        region = await _render_region(name, request)
        html = templates.get_template("base.html").render(
            page=name,
            pages=PAGES,
            title=PAGES[name].title,
            region=region,
            query=str(request.query_params),
            control_enabled=web.control_enabled,
            enable_hint=ENABLE_HINT,
        )
        return HTMLResponse(html)

    endpoint.__name__ = f"page_{name}"
    return endpoint


async def events(request: Request) -> Response:
    """Server-sent events: the page's live region, re-rendered whenever it changes."""
    name = str(request.path_params["page"])
    if name not in PAGES:
        return HTMLResponse("no such page", status_code=404)

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = ""
        while True:
            try:
                html = await _render_region(name, request)
            except Exception:  # NATS away for a moment: say so, keep the stream
                html = templates.get_template("error.html").render(
                    message="the running system did not answer; retrying"
                )
            digest = hashlib.sha1(html.encode(), usedforsecurity=False).hexdigest()
            if digest != last:
                last = digest
                yield {"event": "region", "data": html}
            await asyncio.sleep(REFRESH_S)

    return EventSourceResponse(stream(), ping=15)


def page_routes() -> list[Route]:
    routes = [Route(p.path, _page(name)) for name, p in PAGES.items()]
    routes.append(Route("/events/{page}", events))
    return routes
