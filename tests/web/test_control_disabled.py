"""Without ALPHA_PANDA_API_TOKEN every control action is refused with how to enable it,
and the pages say so; the web itself runs against a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from supervisors.bus import Bus
from web.app import create_app
from web.backend import NatsBackend
from web.context import WebContext


@pytest.fixture
async def client(bus: Bus) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(WebContext(backend=NatsBackend(bus), api_token=None))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as c:
        yield c


async def test_control_is_refused_with_the_way_to_enable_it(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/brokers/paper/halt", "/api/v1/resume", "/api/v1/dlq/3/redrive"):
        r = await client.post(path, headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403, path
        assert "set ALPHA_PANDA_API_TOKEN" in r.json()["error"]


async def test_the_pages_say_how_to_enable_control(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert "set ALPHA_PANDA_API_TOKEN" in r.text and 'data-control="off"' in r.text


async def test_with_nothing_running_the_figures_are_empty_not_errors(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/v1/overview")
    assert r.status_code == 200 and r.json()["brokers"] == []
    r = await client.get("/api/v1/brokers/paper/halt")
    assert r.status_code == 405
