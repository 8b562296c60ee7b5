"""Reading request input: path and query parameters and JSON bodies, each refusal a 4xx
naming the field and what it accepts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec
from starlette.requests import Request

from schemas.names import BROKERS, Broker, parse_broker
from web.errors import Invalid, NotFound

__all__ = ["broker_param", "int_query", "choice_query", "text_query", "json_body"]

S = TypeVar("S", bound=msgspec.Struct)


def broker_param(request: Request, running: Sequence[str] | None = None) -> Broker:
    """The `{broker}` of the path: one DESIGN knows and, when `running` is given, one that
    runs; else 404 naming the valid ones."""
    name = str(request.path_params.get("broker", ""))
    valid = list(running) if running else list(BROKERS)
    if name not in BROKERS or name not in valid:
        raise NotFound(
            f"unknown broker {name!r}; valid brokers: {', '.join(valid) or 'none running'}",
            field="broker",
        )
    return parse_broker(name)


def int_query(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            f"{name} must be a whole number from {lo} to {hi}, got {raw!r}", field=name
        ) from None
    if not lo <= value <= hi:
        raise Invalid(f"{name} must be from {lo} to {hi}, got {value}", field=name)
    return value


def choice_query(request: Request, name: str, choices: Sequence[str]) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise Invalid(f"{name} must be one of {', '.join(choices)}, got {raw!r}", field=name)
    return raw


def text_query(request: Request, name: str, max_len: int = 64) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_len:
        raise Invalid(f"{name} is longer than {max_len} characters", field=name)
    return raw


async def json_body(request: Request, cls: type[S]) -> S:
    """The body decoded as `cls` (an empty body: its defaults); errors name the field."""
    raw = await request.body()
    if not raw.strip():
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=cls)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rpartition("at `$.")[2].rstrip("`") if "at `$." in text else "body"
        raise Invalid(f"invalid request body: {text}", field=path) from None
    except msgspec.DecodeError as exc:
        raise Invalid(f"the body is not JSON: {exc}", field="body") from None
