"""The metrics are served as Prometheus text: by the ASGI app the web role mounts, and by
the small server a process without the web role runs on ALPHA_PANDA_METRICS_ADDR."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette
from starlette.routing import Route

from supervisors.telemetry.exposition import MetricsServer, metrics_app, parse_addr


def a_registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    Counter("alpha_test_things", "things", ["broker"], registry=reg).labels("paper").inc(3)
    return reg


async def test_metrics_app_answers_a_scrape_with_the_registry() -> None:
    transport = httpx.ASGITransport(app=metrics_app(a_registry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        reply = await client.get("/metrics")
    assert reply.status_code == 200
    assert 'alpha_test_things_total{broker="paper"} 3.0' in reply.text


async def test_the_metrics_server_answers_on_its_own_port_from_the_event_loop() -> None:
    server = MetricsServer("127.0.0.1:0", a_registry())
    await server.start()
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.get(server.url)
            head = await client.head(server.url)
        assert reply.status_code == 200 and head.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain")
        assert 'alpha_test_things_total{broker="paper"} 3.0' in reply.text
        # a client that connects and says nothing does not hold the server up
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.close()
        async with httpx.AsyncClient() as client:
            assert (await client.get(server.url)).status_code == 200
    finally:
        await server.close()
        await server.close()  # safe twice


async def test_a_starlette_route_serves_the_app_at_metrics_without_a_redirect() -> None:
    web = Starlette(routes=[Route("/metrics", metrics_app(a_registry()))])
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        reply = await client.get("/metrics")
    assert reply.status_code == 200 and "alpha_test_things_total" in reply.text


def test_a_bad_metrics_address_names_the_expected_form() -> None:
    assert parse_addr(":9464") == ("0.0.0.0", 9464)
    with pytest.raises(ValueError, match="expected host:port"):
        parse_addr("9464")
