"""`/readyz` on a bus without the system's streams: 503, each missing stream named with the
command that creates it; `/healthz` still answers. Each configured dependency (Redis,
PostgreSQL, Kafka topics, the Zerodha session) is checked with its remedy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest

from actors.stores.read_models import RedisReadModels
from bridge.topics.admin import bootstrap_topics
from ops.settings import load_settings
from supervisors.bus import Bus
from supervisors.embedded_nats import free_port
from tests.bridge.conftest import local_kafka, tansu
from tests.conftest import NatsServer
from web.app import create_app
from web.backend import NatsBackend
from web.context import ReadyCheck, WebContext
from web.readiness import ready_checks


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


async def _run(checks: Sequence[ReadyCheck]) -> dict[str, tuple[bool, str]]:
    return {name: (ok, detail) for name, ok, detail in [await c() for c in checks]}


async def test_each_configured_dependency_is_checked_with_its_remedy(
    tmp_path: Path, tansu: str
) -> None:
    closed = free_port()
    settings = load_settings(
        ALPHA_PANDA_DATA_DIR=str(tmp_path), ALPHA_PANDA_ENV="test",
        ALPHA_PANDA_BROKERS="paper,zerodha", KAFKA_BOOTSTRAP_SERVERS=tansu,
        REDIS_URL=f"redis://127.0.0.1:{closed}/0",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/postgres",
    )  # fmt: skip
    models = RedisReadModels(f"redis://127.0.0.1:{closed}/0")
    try:
        found = await _run(ready_checks(settings, models))
    finally:
        await models.close()
    assert set(found) == {"redis", "postgresql", "kafka", "zerodha session"}
    assert found["redis"][0] is False and "REDIS_URL" in found["redis"][1]
    assert found["postgresql"][0] is False and "DATABASE_URL" in found["postgresql"][1]
    assert found["kafka"][0] is False and "alpha-panda ops bootstrap" in found["kafka"][1]
    assert found["zerodha session"][0] is False and "KITE_API_KEY" in found["zerodha session"][1]

    await bootstrap_topics(tansu, "test")
    assert await _run(ready_checks(settings, None)) == {
        "postgresql": found["postgresql"],
        "kafka": (True, "topics as the overlay expects"),
        "zerodha session": found["zerodha session"],
    }


__all__ = ["local_kafka", "tansu"]  # the bridge tests' Kafka fixtures, used here
