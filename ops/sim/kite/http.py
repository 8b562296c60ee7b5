"""The Kite Connect HTTP API of the simulator, as a Starlette app.

Every answer is Kite's envelope: `{"status": "success", "data": ...}` or
`{"status": "error", "message": ..., "error_type": ...}` with Kite's HTTP status (403 for a
`TokenException`, 400 for input, 429 for too many requests). Requests authenticate with
`Authorization: token <api_key>:<access_token>`; `/_sim/*` is the admin surface (faults).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops.sim.kite import account
from ops.sim.kite.exchange import ORDER_TYPES, Exchange, stamp
from ops.sim.kite.limits import API_LIMITS, ORDER_LIMITS, Faults, RateLimiter
from ops.sim.kite.rules import KiteError

__all__ = ["Session", "build_app"]

Handler = Callable[[Request], Awaitable[Any]]


class Session:
    """The simulator's one user: its credentials and the access tokens it has issued."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.request_token = secrets.token_hex(16)
        self.access_tokens = {secrets.token_hex(16)}
        self.first_token = next(iter(self.access_tokens))

    def valid(self, api_key: str | None, access_token: str | None) -> bool:
        return api_key == self.api_key and access_token in self.access_tokens

    def expire(self) -> None:
        self.access_tokens.clear()


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data})


def _error(exc: KiteError) -> JSONResponse:
    body = {"status": "error", "message": exc.message, "data": None, "error_type": exc.error_type}
    return JSONResponse(body, status_code=exc.status)


def build_app(
    exchange: Exchange,
    session: Session,
    faults: Faults,
    on_faults: Callable[[], None] = lambda: None,
) -> Starlette:
    """The app; `on_faults` runs after an admin request changed the faults (WS faults)."""
    orders_limit, api_limit = RateLimiter(ORDER_LIMITS), RateLimiter(API_LIMITS)

    def guarded(handler: Handler, *, auth: bool = True, order: bool = False) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if faults.expire_token:
                    faults.expire_token = False
                    session.expire()
                if faults.take("http_5xx"):
                    raise KiteError("NetworkException", "Service unavailable (injected).", 503)
                limiter = orders_limit if order else api_limit
                if faults.take("http_429") or not limiter.allow():
                    raise KiteError("NetworkException", "Too many requests", 429)
                if auth:
                    _authenticate(request, session)
                result = await handler(request)
            except KiteError as exc:
                return _error(exc)
            return result if isinstance(result, Response) else _ok(result)

        return endpoint

    async def token(request: Request) -> Any:
        form = await _form(request)
        api_key, req = str(form.get("api_key", "")), str(form.get("request_token", ""))
        want = hashlib.sha256((api_key + req + session.api_secret).encode()).hexdigest()
        if api_key != session.api_key or req != session.request_token:
            raise KiteError("TokenException", "Token is invalid or has expired.", 403)
        if form.get("checksum") != want:
            raise KiteError("TokenException", "Invalid checksum.", 403)
        access = secrets.token_hex(16)
        session.access_tokens.add(access)
        return _profile(session) | {
            "access_token": access,
            "public_token": secrets.token_hex(8),
            "refresh_token": "",
            "enctoken": "",
            "login_time": stamp(exchange.clock()),
        }

    async def profile(request: Request) -> Any:
        return _profile(session)

    async def place(request: Request) -> Any:
        form = await _form(request)
        order = exchange.place(request.path_params["variety"], form)
        if faults.take("timeout_after_place"):
            # The order stands at the exchange; only the answer is lost, as a real timeout.
            await asyncio.sleep(faults.timeout_s)
        return {"order_id": order.order_id}

    async def modify(request: Request) -> Any:
        form = await _form(request)
        p = request.path_params
        return {"order_id": exchange.modify(p["variety"], p["order_id"], form).order_id}

    async def cancel(request: Request) -> Any:
        p = request.path_params
        return {"order_id": exchange.cancel(p["variety"], p["order_id"]).order_id}

    async def orders(request: Request) -> Any:
        now = exchange.clock()
        return [o.view(now) for o in exchange.orders.values()]

    async def history(request: Request) -> Any:
        order = exchange.orders.get(request.path_params["order_id"])
        if order is None:
            raise KiteError("OrderException", "Couldn't find that order.", 400)
        return order.history

    async def order_trades(request: Request) -> Any:
        oid = request.path_params["order_id"]
        return [t for t in exchange.trades if t["order_id"] == oid]

    async def trades(request: Request) -> Any:
        return exchange.trades

    async def positions(request: Request) -> Any:
        return account.positions(exchange)

    async def holdings(request: Request) -> Any:
        return []  # the simulated account starts flat and settles nothing overnight

    async def margins(request: Request) -> Any:
        return account.margins(exchange)

    async def instruments(request: Request) -> Any:
        text = account.instruments_csv(exchange.book, exchange)
        return Response(text, media_type="text/csv")

    async def historical(request: Request) -> Any:
        p, q = request.path_params, request.query_params
        token = int(p["token"]) if p["token"].isdigit() else 0
        candles = account.candles(
            exchange.book, token, p["interval"], q.get("from", ""), q.get("to", "")
        )
        return {"candles": candles}

    async def set_faults(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object of faults")
            faults.update(body)
        except ValueError as exc:
            return JSONResponse({"status": "error", "message": str(exc)}, status_code=400)
        on_faults()
        return _ok(vars(faults))

    routes = [
        Route("/session/token", guarded(token, auth=False), methods=["POST"]),
        Route("/user/profile", guarded(profile)),
        Route("/user/margins", guarded(margins)),
        Route("/orders", guarded(orders)),
        Route("/orders/{variety}", guarded(place, order=True), methods=["POST"]),
        Route("/orders/{order_id:int}/trades", guarded(order_trades)),
        Route("/orders/{variety}/{order_id}", guarded(modify, order=True), methods=["PUT"]),
        Route("/orders/{variety}/{order_id}", guarded(cancel, order=True), methods=["DELETE"]),
        Route("/orders/{order_id}", guarded(history)),
        Route("/trades", guarded(trades)),
        Route("/portfolio/positions", guarded(positions)),
        Route("/portfolio/holdings", guarded(holdings)),
        Route("/instruments", guarded(instruments)),
        Route("/instruments/{exchange}", guarded(instruments)),
        Route("/instruments/historical/{token}/{interval}", guarded(historical)),
        Route("/_sim/faults", set_faults, methods=["POST"]),
    ]
    return Starlette(routes=routes)


async def _form(request: Request) -> dict[str, str]:
    """The url-encoded form the official client sends (no multipart parser needed)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace")))


def _authenticate(request: Request, session: Session) -> None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    api_key, _, access_token = credentials.partition(":")
    if scheme != "token" or not session.valid(api_key, access_token):
        raise KiteError("TokenException", "Incorrect `api_key` or `access_token`.", 403)


def _profile(session: Session) -> dict[str, Any]:
    return {
        "user_id": "SIM001",
        "user_type": "individual",
        "email": "sim@localhost",
        "user_name": "Kite Simulator",
        "user_shortname": "Simulator",
        "broker": "zerodha".upper(),  # the literal is our stream's name in the catalogue check
        "exchanges": ["NSE"],
        "products": ["CNC", "NRML", "MIS"],
        "order_types": sorted(ORDER_TYPES),
        "avatar_url": None,
        "api_key": session.api_key,
        "meta": {"demat_consent": "physical"},
    }
