"""`/readyz` on a bus without the system's streams: 503, each missing stream named with the
command that creates it; `/healthz` still answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from supervisors.bus import Bus
from tests.conftest import NatsServer
from web.app import create_app
from web.backend import NatsBackend
from web.context import WebContext


async def _redis_down() -> tuple[str, bool, str]:
    return "redis", False, "unreachable (ConnectionError): start redis-server or fix REDIS_URL"


@pytest.fixture
async def client(fresh_nats: NatsServer) -> AsyncIterator[httpx.AsyncClient]:
    bus = await Bus.connect(fresh_nats.url, name="web-tests")
    app = create_app(
        WebContext(backend=NatsBackend(bus), api_token="t", env="test", ready_checks=(_redis_down,))
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as c:
            yield c
    finally:
        await bus.close()


async def test_missing_streams_and_a_store_down_answer_503_with_remedies(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/healthz")).status_code == 200
    r = await client.get("/readyz")
    assert r.status_code == 503
    checks = {c["check"]: c for c in r.json()["checks"]}
    assert checks["nats"]["ok"] is True
    market = checks["stream MARKET"]
    assert market["ok"] is False and market["detail"] == "missing"
    assert "alpha-panda ops bootstrap --env test" in market["remedy"]
    assert checks["redis"]["ok"] is False and "REDIS_URL" in checks["redis"]["detail"]
