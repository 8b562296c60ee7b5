"""The JSON API under `/api/v1`: the figures of every page, read-only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schemas.names import BROKERS
from web import queries
from web.context import WebContext
from web.docs import Operation, Param, documented
from web.params import broker_param, choice_query, int_query, text_query

__all__ = ["api_routes"]

BROKER = Param("broker", "path", {"type": "string"}, f"one of {', '.join(BROKERS)}")
LIMIT = Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500})


def _web(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


@documented(Operation())
async def get_overview(request: Request) -> JSONResponse:
    """Per broker: trading state, ticks/s, signals, rejections by reason, orders, fills, PnL,
    stage health; the paper-versus-live drift when both trade."""
    return JSONResponse(await queries.overview(_web(request)))


@documented(Operation())
async def get_status(request: Request) -> JSONResponse:
    """The raw `alpha.status` replies, one per process (as `alpha-panda status --json`)."""
    return JSONResponse({"replies": await _web(request).backend.status()})


@documented(Operation())
async def get_tree(request: Request) -> JSONResponse:
    """The supervision tree, one row per node: state, restarts, last error, mailbox depth."""
    return JSONResponse(await queries.tree(_web(request)))


@documented(Operation())
async def get_brokers(request: Request) -> JSONResponse:
    """The brokers that trade now, with their trading state."""
    ov = await queries.overview(_web(request))
    return JSONResponse(
        {
            "brokers": [
                {"broker": b["broker"], "trading_state": b["trading_state"]} for b in ov["brokers"]
            ]
        }
    )


@documented(
    Operation(
        params=(
            BROKER,
            Param("by", "query", {"type": "string", "enum": ["instrument", "strategy"]}),
        )
    )
)
async def get_portfolio(request: Request) -> JSONResponse:
    """Cash, PnL and positions of one broker, per instrument and per strategy."""
    web = _web(request)
    broker = broker_param(request)
    choice_query(request, "by", ("instrument", "strategy"))
    return JSONResponse(await queries.portfolio(web, broker))


_TEXT = {"type": "string", "maxLength": 64}


@documented(
    Operation(
        params=(
            BROKER,
            LIMIT,
            Param("event", "query", {"type": "string", "enum": list(queries.BLOTTER_EVENTS)}),
            Param("strategy", "query", _TEXT),
            Param("symbol", "query", _TEXT),
            Param("side", "query", {"type": "string", "enum": ["BUY", "SELL"]}),
        )
    )
)
async def get_orders(request: Request) -> JSONResponse:
    """The order and fill blotter of one broker, newest first, with filters."""
    web = _web(request)
    broker = broker_param(request)
    limit = int_query(request, "limit", 100, 1, 500)
    filters = {
        "event": choice_query(request, "event", queries.BLOTTER_EVENTS),
        "strategy": text_query(request, "strategy"),
        "symbol": text_query(request, "symbol"),
        "side": choice_query(request, "side", ("BUY", "SELL")),
    }
    return JSONResponse(await queries.orders(web, broker, limit, **filters))


@documented(Operation())
async def get_strategies(request: Request) -> JSONResponse:
    """The configured strategies, their parameters and their live figures per broker."""
    return JSONResponse(await queries.strategies(_web(request)))


@documented(Operation(params=(LIMIT,)))
async def get_dead_letters(request: Request) -> JSONResponse:
    """The newest dead letters of the DLQ stream: subject, error, attempts, actor."""
    limit = int_query(request, "limit", 100, 1, 500)
    return JSONResponse(await queries.dead_letters(_web(request), limit))


@documented(Operation())
async def get_bridge(request: Request) -> JSONResponse:
    """The Kafka bridge: state, health, per-stream figures (lag), or why it is off."""
    return JSONResponse(await queries.bridge(_web(request)))


def api_routes() -> list[Route]:
    return [
        Route("/overview", get_overview),
        Route("/status", get_status),
        Route("/tree", get_tree),
        Route("/brokers", get_brokers),
        Route("/brokers/{broker}/portfolio", get_portfolio),
        Route("/brokers/{broker}/orders", get_orders),
        Route("/strategies", get_strategies),
        Route("/dlq", get_dead_letters),
        Route("/bridge", get_bridge),
    ]
