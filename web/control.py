"""Token-gated control over HTTP: halt, resume, reduce (one broker or all), restart of one
actor and dead-letter re-drive. The web checks the bearer token first (so a wrong one costs
no bus traffic) and then forwards the caller's token to the gate on `alpha.control`, which
checks it again and records who and when on `audit.control`; the web adds no authority of
its own."""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schemas.names import ControlVerb
from web import queries
from web.api import BROKER
from web.context import WebContext
from web.docs import Operation, Param, documented
from web.errors import ControlDisabled, Invalid, NotFound, Unauthorized
from web.params import broker_param, json_body

__all__ = ["control_routes", "authorize", "ENABLE_HINT"]

ENABLE_HINT = (
    "control actions are disabled: set ALPHA_PANDA_API_TOKEN in the environment of "
    "`alpha-panda up` and restart it, then enter the same token here"
)


class ControlBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str = ""
    #: who asks, for the audit trail (the web adds the client's address)
    operator: str = ""

    def __post_init__(self) -> None:
        if len(self.reason) > 500:
            raise ValueError("reason is longer than 500 characters")
        if len(self.operator) > 64:
            raise ValueError("operator is longer than 64 characters")


_BODY = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 500},
        "operator": {"type": "string", "maxLength": 64},
    },
    "additionalProperties": False,
}


def authorize(request: Request) -> str:
    """The caller's token, once it matches the system's; else 403 (none set) or 401."""
    web: WebContext = request.app.state.web
    if web.api_token is None:
        raise ControlDisabled(ENABLE_HINT)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.encode(), web.api_token.encode()
    ):
        raise Unauthorized(
            "missing or wrong token: send Authorization: Bearer <ALPHA_PANDA_API_TOKEN>"
        )
    return token


def _who(request: Request, body: ControlBody) -> str:
    host = request.client.host if request.client else "?"
    return f"{body.operator or 'operator'}@web({host})"


async def _body(request: Request) -> ControlBody:
    try:
        return await json_body(request, ControlBody)
    except ValueError as exc:  # __post_init__
        raise Invalid(str(exc), field=str(exc).split(" ", 1)[0]) from None


async def _control(request: Request, verb: ControlVerb, one: bool) -> JSONResponse:
    web: WebContext = request.app.state.web
    token = authorize(request)
    broker = broker_param(request, await queries.running_brokers(web)) if one else None
    body = await _body(request)
    result = await web.backend.control(token, verb, broker, body.reason, _who(request, body))
    return JSONResponse(
        {
            "ok": True,
            "verb": str(verb),
            "broker": broker or "all",
            "subject": result.get("subject"),
            "id": result.get("id"),
        }
    )


def _op(verb: ControlVerb, one: bool) -> Operation:
    return Operation(
        params=(BROKER,) if one else (),
        body=_BODY,
        secured=True,
        tag="control",
        answers={200: f"{verb} stored on the control stream and audited"},
    )


def _endpoints(verb: ControlVerb) -> tuple[Route, Route]:
    async def one(request: Request) -> JSONResponse:
        return await _control(request, verb, True)

    async def every(request: Request) -> JSONResponse:
        return await _control(request, verb, False)

    one.__name__, every.__name__ = f"{verb}_broker", f"{verb}_all"
    one.__doc__ = f"{str(verb).capitalize()} one broker (token required; audited)."
    every.__doc__ = f"{str(verb).capitalize()} every broker (token required; audited)."
    return (
        Route(f"/brokers/{{broker}}/{verb}", documented(_op(verb, True))(one), methods=["POST"]),
        Route(f"/{verb}", documented(_op(verb, False))(every), methods=["POST"]),
    )


@documented(
    Operation(
        params=(Param("seq", "path", {"type": "integer", "minimum": 1}, "DLQ stream sequence"),),
        body=_BODY,
        secured=True,
        tag="control",
        answers={200: "the dead letter republished to its original subject, audited"},
    )
)
async def redrive(request: Request) -> JSONResponse:
    """Re-drive one dead letter to its original subject (token required; audited)."""
    web: WebContext = request.app.state.web
    token = authorize(request)
    try:
        seq = int(request.path_params["seq"])
    except ValueError:
        raise Invalid("seq must be a DLQ stream sequence (a whole number)", field="seq") from None
    if seq < 1:
        raise Invalid("seq must be at least 1", field="seq")
    body = await _body(request)
    result = await web.backend.redrive(token, seq, _who(request, body), body.reason)
    if not result.get("ok"):
        raise NotFound(str(result.get("error")), field="seq")
    return JSONResponse(result)


def _actor_names(replies: list[dict[str, Any]]) -> list[str]:
    """Every node below each process's root, as `restart` accepts them."""
    names: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("children") or ():
            names.append(str(child.get("name")))
            walk(child)

    for reply in replies:
        walk(reply.get("tree") or {})
    return names


@documented(
    Operation(
        params=(Param("name", "path", {"type": "string"}, "the actor's name in the tree"),),
        body=_BODY,
        secured=True,
        tag="control",
        answers={200: "restart stored on control.restart and audited; the process running "
                      "the actor restarts it (its restarts go up by one)"},
    )
)  # fmt: skip
async def restart_actor(request: Request) -> JSONResponse:
    """Restart one actor by name (token required; audited)."""
    web: WebContext = request.app.state.web
    token = authorize(request)
    name = request.path_params["name"]
    valid = _actor_names(await web.backend.status())
    if name not in valid:
        raise NotFound(f"no actor named {name!r} runs; valid: {', '.join(sorted(valid))}",
                       field="name")  # fmt: skip
    body = await _body(request)
    result = await web.backend.control(
        token, ControlVerb.RESTART, None, body.reason, _who(request, body), actor=name
    )
    return JSONResponse({"ok": True, "verb": str(ControlVerb.RESTART), "actor": name,
                         "subject": result.get("subject"), "id": result.get("id")})  # fmt: skip


def control_routes() -> list[Route]:
    routes: list[Route] = []
    for verb in ControlVerb:
        if verb is not ControlVerb.RESTART:  # per actor, not per broker: below
            routes.extend(_endpoints(verb))
    routes.append(Route("/actors/{name}/restart", restart_actor, methods=["POST"]))
    routes.append(Route("/dlq/{seq}/redrive", redrive, methods=["POST"]))
    return routes
