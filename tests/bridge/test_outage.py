"""Kafka away for a while: the bridge retries with backoff, reports unhealthy, loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bridge.mirror.producer_config import apply_overrides, default_profiles
from bridge.status.report import bridge_status
from ops.bench.local_kafka import LocalKafka
from supervisors.bus import Bus
from supervisors.embedded_nats import free_port
from tests.bridge.helpers import (
    assert_exactly_once,
    make_streams,
    nats_seqs,
    publish_many,
    read_topic,
    start_bridge,
    tick,
    wait_for,
)
from tests.bridge.proxy import TcpProxy
from tests.conftest import NatsServer

N = 8000


@pytest.fixture
async def proxied_kafka() -> AsyncIterator[tuple[TcpProxy, str]]:
    front = free_port()
    kafka = LocalKafka(advertised_port=front)
    kafka.start()
    proxy = TcpProxy(front, kafka.port)
    await proxy.start()
    yield proxy, kafka.bootstrap_servers
    await proxy.close()
    kafka.cleanup()


# its waits add up past the suite's 120 s on a loaded machine (each backoff round against
# the missing broker is slower there); the waits themselves bound it
@pytest.mark.timeout(300)
async def test_kafka_outage_makes_the_bridge_unhealthy_then_it_catches_up_exactly_once(
    fresh_nats: NatsServer, proxied_kafka: tuple[TcpProxy, str]
) -> None:
    proxy, bootstrap = proxied_kafka
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    profiles = apply_overrides(default_profiles(), ["*.request_timeout_ms=2000"])
    process, task = await start_bridge(
        bus, bootstrap, streams=("MARKET",), profiles=profiles, backoff_min_s=0.2, backoff_max_s=1.0
    )
    try:
        ticks = [tick(t % 30 + 1) for t in range(N)]

        async def paced() -> None:
            for i in range(0, N, 200):
                await publish_many(bus, ticks[i : i + 200])
                await asyncio.sleep(0.05)

        publisher = asyncio.create_task(paced())
        await wait_for(lambda: process.figures["MARKET"].mirrored > 500, what="first records")
        await proxy.cut()
        await wait_for(lambda: not process.status()["healthy"], timeout_s=15, what="unhealthy")
        # several backoff rounds against a missing broker (each takes longer on a loaded box)
        await wait_for(lambda: process.resets >= 2, timeout_s=90, what="two resets")
        assert process.status()["healthy"] is False
        assert process.resets >= 2
        assert process.last_error and "KafkaUnavailable" in process.last_error
        lag_during = (await bridge_status(bus, streams=("MARKET",), sample_s=0))["total_lag"]
        await proxy.restore()
        await publisher
        await wait_for(lambda: process.figures["MARKET"].mirrored_seq >= N, timeout_s=60)
        await wait_for(lambda: process.status()["healthy"], timeout_s=10, what="healthy again")
        assert lag_during > 0
    finally:
        process.request_stop()
        await task
        await bus.close()
    records = await read_topic(bootstrap, "market.ticks")
    assert_exactly_once(nats_seqs(records, "MARKET"), set(range(1, N + 1)))
