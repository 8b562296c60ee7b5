"""`/healthz` (this process answers) and `/readyz` (the pre-flight: NATS, the streams with
the configuration the environment's overlay expects, and the stores, Kafka and Zerodha
session when configured). Each failed check names its remedy; any failure answers 503."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops.overlays import stream_settings
from web.context import WebContext

__all__ = ["health_routes", "stream_problems"]

_CHECK_TIMEOUT_S = 3.0


def stream_problems(expected: Any, info: dict[str, Any] | None, env: str) -> list[str]:
    """How a stream differs from the overlay's settings (empty: as expected)."""
    if info is None:
        return ["missing"]
    problems = []
    if sorted(info["subjects"]) != sorted(expected.subjects):
        problems.append(f"subjects {info['subjects']} (expected {list(expected.subjects)})")
    if abs(info["max_age_s"] - expected.max_age_s) > 1:
        problems.append(f"max age {info['max_age_s']:g}s (expected {expected.max_age_s:g}s)")
    if abs(info["duplicate_window_s"] - expected.duplicate_window_s) > 1:
        problems.append(
            f"duplicate window {info['duplicate_window_s']:g}s "
            f"(expected {expected.duplicate_window_s:g}s)"
        )
    if env == "production" and info["num_replicas"] < expected.replicas:
        problems.append(f"{info['num_replicas']} replicas (expected {expected.replicas})")
    return problems


async def _streams(web: WebContext) -> list[dict[str, Any]]:
    checks = []
    for spec in stream_settings(web.env):  # type: ignore[arg-type]
        info = await web.backend.stream_info(spec.name)
        problems = stream_problems(spec, info, web.env)
        checks.append(
            {
                "check": f"stream {spec.name}",
                "ok": not problems,
                "detail": "as configured" if not problems else "; ".join(problems),
                **(
                    {}
                    if not problems
                    else {
                        "remedy": f"run `alpha-panda ops bootstrap --env {web.env}` as the operator"
                    }
                ),
            }
        )
    return checks


async def healthz(request: Request) -> JSONResponse:
    """This process is alive and serving."""
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> JSONResponse:
    """Every dependency is reachable and configured as expected; 503 naming each failure."""
    web: WebContext = request.app.state.web
    checks: list[dict[str, Any]] = []
    if not web.backend.connected:
        checks.append(
            {
                "check": "nats",
                "ok": False,
                "detail": "not connected",
                "remedy": "start nats-server or fix NATS_URL and its credentials",
            }
        )
    else:
        checks.append({"check": "nats", "ok": True, "detail": "connected"})
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_S * 2):
                checks.extend(await _streams(web))
        except Exception as exc:
            checks.append(
                {
                    "check": "streams",
                    "ok": False,
                    "detail": type(exc).__name__,
                    "remedy": "check that JetStream is enabled on the server",
                }
            )
    for check in web.ready_checks:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_S):
                name, ok, detail = await check()
        except Exception as exc:
            name, ok, detail = getattr(check, "__name__", "check"), False, type(exc).__name__
        entry: dict[str, Any] = {"check": name, "ok": ok, "detail": detail}
        checks.append(entry)
    ready = all(c["ok"] for c in checks)
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def health_routes() -> list[Route]:
    return [Route("/healthz", healthz), Route("/readyz", readyz)]
