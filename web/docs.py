"""OpenAPI for `/api/v1`, built from the routes themselves: each endpoint carries an
`Operation` (parameters, body, answers) and its docstring's first line as the summary, so
the schema cannot drift from the routes it describes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Route

__all__ = ["Operation", "Param", "documented", "openapi_schema", "ERROR"]

F = TypeVar("F", bound=Callable[..., Any])

ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
    "required": ["error"],
}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" or "query"
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Operation:
    params: Sequence[Param] = ()
    body: dict[str, Any] | None = None
    #: status -> description of the answers besides errors
    answers: dict[int, str] = field(default_factory=lambda: {200: "the figures"})
    secured: bool = False
    tag: str = "figures"


def documented(op: Operation) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        fn.__openapi__ = op  # type: ignore[attr-defined]
        return fn

    return mark


def _operation(method: str, fn: Callable[..., Any], op: Operation) -> dict[str, Any]:
    doc = (fn.__doc__ or "").strip()
    summary, _, rest = doc.partition("\n")
    out: dict[str, Any] = {
        "operationId": f"{method}_{fn.__name__}",
        "summary": summary.strip(),
        "tags": [op.tag],
        "parameters": [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "schema": p.schema,
                "description": p.description,
            }
            for p in op.params
        ],
        "responses": {
            str(code): {"description": text, "content": {"application/json": {"schema": {}}}}
            for code, text in op.answers.items()
        },
    }
    if rest.strip():
        out["description"] = " ".join(rest.split())
    err = {"content": {"application/json": {"schema": ERROR}}}
    if op.params or op.body:
        out["responses"]["422"] = {"description": "a parameter or the body is invalid", **err}
    if any(p.where == "path" for p in op.params):
        out["responses"]["404"] = {"description": "no such broker or item", **err}
    out["responses"]["503"] = {"description": "a dependency (NATS, the gate) is away", **err}
    if op.secured:
        out["security"] = [{"bearer": []}]
        out["responses"]["401"] = {"description": "missing or wrong token", **err}
        out["responses"]["403"] = {"description": "control is disabled (no token set)", **err}
    if op.body is not None:
        out["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": op.body}},
        }
    return out


def openapi_schema(routes: Sequence[BaseRoute], prefix: str = "") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        op = getattr(route.endpoint, "__openapi__", None)
        if op is None:
            continue
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            paths.setdefault(prefix + route.path, {})[method.lower()] = _operation(
                method.lower(), route.endpoint, op
            )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Alpha Panda",
            "version": "1",
            "description": "Figures of the running system and token-gated control. Control "
            "needs `Authorization: Bearer <ALPHA_PANDA_API_TOKEN>`.",
        },
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
