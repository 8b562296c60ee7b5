"""The registry client and Avro mode against a real Confluent-compatible registry.

Set SCHEMA_REGISTRY_URL (Redpanda's registry from compose.yaml, or any Confluent-compatible
one) to run these; there is no such registry among the test servers started here.
"""

from __future__ import annotations

import os
import uuid

import pytest

from bridge.governance.registry import RegistryClient
from bridge.governance.subjects import registry_check, registry_register
from bridge.governance.wire import decode as wire_decode
from bridge.replay.republish import ReplayRequest, replay
from schemas.avro import envelope_schema
from schemas.events import OrderFilled
from supervisors.bus import Bus
from tests.bridge.helpers import (
    fill,
    make_streams,
    publish_many,
    read_topic,
    start_bridge,
    wait_for,
)
from tests.conftest import NatsServer

URL = os.environ.get("SCHEMA_REGISTRY_URL", "")

pytestmark = pytest.mark.skipif(
    not URL,
    reason="SCHEMA_REGISTRY_URL is not set: the registry tests need a real Confluent-compatible "
    "registry (e.g. Redpanda's from compose.yaml)",
)


async def test_register_lookup_fetch_and_compatibility_of_a_subject() -> None:
    registry = RegistryClient(URL)
    subject = f"test-{uuid.uuid4().hex[:8]}-value"
    schema = envelope_schema(OrderFilled)
    assert await registry.lookup(subject, schema) is None
    schema_id = await registry.register(subject, schema)
    assert await registry.register(subject, schema) == schema_id
    assert await registry.lookup(subject, schema) == schema_id
    assert (await registry.schema_by_id(schema_id))["name"] == "OrderFilledEnvelope"
    await registry.set_compatibility("BACKWARD", subject)
    changed = envelope_schema(OrderFilled)
    changed["fields"].append({"name": "required_new", "type": "string"})
    assert await registry.is_compatible(subject, changed) is False


async def test_register_sets_backward_and_check_then_finds_nothing() -> None:
    registry = RegistryClient(URL)
    results = await registry_register(registry)
    assert all(r.startswith("id ") for r in results.values()), results
    assert "paper.orders.filled-value" in results
    assert await registry.get_compatibility() == "BACKWARD"
    assert await registry_check(registry) == []


async def test_avro_mode_writes_the_wire_format_and_replay_restores_the_json(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    items = [fill(n) for n in range(5)]
    await publish_many(bus, items)
    process, task = await start_bridge(bus, tansu, streams=("PAPER",), registry_url=URL)
    await wait_for(lambda: process.figures["PAPER"].mirrored == 5)
    process.request_stop()
    await task
    records = await read_topic(tansu, "paper.orders.filled")
    assert all(wire_decode(r.value)[0] > 0 for r in records)
    assert dict(records[0].headers)["content-type"] == b"application/vnd.confluent.avro"
    summary = await replay(
        bus, tansu, ReplayRequest(topic="paper.orders.filled", dry_run=True),
        registry_url=URL, progress=False,
    )  # fmt: skip
    assert summary.matched == 5
    await bus.close()
