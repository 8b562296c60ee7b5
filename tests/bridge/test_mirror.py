"""The mirror against real servers: records, headers, dead letters, lag, graceful stop."""

from __future__ import annotations

import asyncio
import json

from prometheus_client import REGISTRY

from bridge.mirror.producer_config import apply_overrides, default_profiles
from bridge.status.report import bridge_status
from schemas.envelope import encode, new_envelope
from schemas.events import DeadLetter
from supervisors.bus import Bus
from tests.bridge.helpers import (
    assert_exactly_once,
    fill,
    make_streams,
    nats_seqs,
    publish_many,
    read_topic,
    start_bridge,
    tick,
    wait_for,
)
from tests.conftest import NatsServer


async def _at_rest(bus: Bus, streams: tuple[str, ...]) -> bool:
    return bool((await bridge_status(bus, streams=streams, sample_s=0))["at_rest"])


async def test_every_message_is_mirrored_once_with_its_headers_and_lag_falls_to_zero(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    ticks = [tick(t % 25 + 1) for t in range(3000)]
    fills = [fill(n) for n in range(40)]
    await publish_many(bus, ticks + fills)
    process, task = await start_bridge(bus, tansu)
    try:
        await wait_for(lambda: process.figures["PAPER"].mirrored_seq == 40, what="fills mirrored")
        await wait_for(
            lambda: process.figures["MARKET"].mirrored_seq == 3000, what="ticks mirrored"
        )
        await wait_for(
            lambda: (
                process.figures["MARKET"].lag == 0
                and process.figures["MARKET"].stream_last_seq == 3000
            )
        )
        status = process.status()
        assert status["healthy"] and status["streams"]["MARKET"]["lag"] == 0
        assert (
            REGISTRY.get_sample_value(
                "alpha_bridge_lag_messages", {"stream": "MARKET", "broker": ""}
            )
            == 0
        )
        assert await _at_rest(bus, ("MARKET", "PAPER"))
    finally:
        process.request_stop()
        await task
        await bus.close()
    tick_records = await read_topic(tansu, "market.ticks")
    assert_exactly_once(nats_seqs(tick_records, "MARKET"), set(range(1, 3001)))
    assert len({r.partition for r in tick_records}) == 4
    for record in tick_records:  # one key, one partition: a token's ticks stay in order
        assert record.value == encode(ticks[int(dict(record.headers)["nats-seq"]) - 1][1])
    fill_records = await read_topic(tansu, "paper.orders.filled")
    headers = dict(fill_records[0].headers)
    env = fills[int(headers["nats-seq"]) - 1][1]
    assert headers["id"] == env.id.encode()
    assert headers["type"] == b"order.filled"
    assert headers["traceparent"] == env.trace.encode()
    assert headers["nats-stream"] == b"PAPER"
    assert fill_records[0].key == env.key.encode()


async def test_a_message_that_fails_validation_goes_to_the_dlq_topic_with_the_reason(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    await bus.publish_raw("paper.orders.filled", b'{"id": "x", "type": "order.filled"}', {})
    subject, env = fill(1)
    await bus.publish(subject, env)
    letter = DeadLetter(
        original_subject="paper.signals.validated", error="boom", error_type="ValueError",
        actor="execution", attempts=5, payload="{}",
    )  # fmt: skip
    await bus.publish("dlq.paper.orders.filled", new_envelope(letter, source="execution"))
    process, task = await start_bridge(bus, tansu, streams=("PAPER", "DLQ"))
    try:
        await wait_for(
            lambda: process.figures["PAPER"].mirrored == 2 and process.figures["DLQ"].mirrored == 1
        )
        assert process.figures["PAPER"].dead_lettered == 1
    finally:
        process.request_stop()
        await task
        await bus.close()
    dead = await read_topic(tansu, "paper.orders.filled.dlq")
    by_stream = {dict(r.headers)["nats-stream"]: r for r in dead}
    bridge_letter = by_stream[b"PAPER"]
    assert b"invalid order.filled envelope" in dict(bridge_letter.headers)["dlq-reason"]
    assert json.loads(bridge_letter.value)["data"]["stream_seq"] == 1
    assert json.loads(by_stream[b"DLQ"].value)["data"]["actor"] == "execution"
    assert len(await read_topic(tansu, "paper.orders.filled")) == 1


async def test_a_restarted_bridge_mirrors_only_what_is_new(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    await publish_many(bus, [tick(t % 7 + 1) for t in range(500)])
    for round_ in range(2):
        process, task = await start_bridge(bus, tansu, streams=("MARKET",))
        figures, want = process.figures["MARKET"], 500 * (round_ + 1)
        await wait_for(lambda f=figures, w=want: f.mirrored_seq == w)
        process.request_stop()
        await task
        if round_ == 0:
            await publish_many(bus, [tick(t % 7 + 1) for t in range(500)])
    await bus.close()
    assert_exactly_once(nats_seqs(await read_topic(tansu, "market.ticks")), set(range(1, 1001)))


async def test_gzip_compressed_batches_are_mirrored(fresh_nats: NatsServer, tansu: str) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    await publish_many(bus, [tick(t % 9 + 1) for t in range(1000)])
    profiles = apply_overrides(default_profiles(), ["*.compression=gzip", "ticks.linger_ms=5"])
    process, task = await start_bridge(bus, tansu, streams=("MARKET",), profiles=profiles)
    try:
        await wait_for(lambda: process.figures["MARKET"].mirrored_seq == 1000)
    finally:
        process.request_stop()
        await task
        await bus.close()
    assert_exactly_once(nats_seqs(await read_topic(tansu, "market.ticks")), set(range(1, 1001)))


async def test_a_delivery_lost_on_the_way_is_detected_and_mirrored_after_all(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    process, task = await start_bridge(bus, tansu, streams=("MARKET",))
    thief = await Bus.connect(fresh_nats.url)
    try:
        await publish_many(bus, [tick(t % 5 + 1) for t in range(100)])
        await wait_for(lambda: process.figures["MARKET"].mirrored_seq == 100)
        stolen = await thief.js.pull_subscribe_bind(durable="bridge-market", stream="MARKET")
        fetch = asyncio.create_task(stolen.fetch(1, timeout=5))
        await asyncio.sleep(0.2)  # the thief's pull request waits at the server first
        await publish_many(bus, [tick(t % 5 + 1) for t in range(100)])
        assert len(await fetch) == 1  # one delivery the bridge never sees, never acked
        await wait_for(lambda: process.figures["MARKET"].mirrored_seq == 200, timeout_s=30)
        assert process.resets >= 1 and "DeliveryGap" in (process.last_error or "")
    finally:
        process.request_stop()
        await task
        await thief.close()
        await bus.close()
    assert_exactly_once(nats_seqs(await read_topic(tansu, "market.ticks")), set(range(1, 201)))


async def test_a_graceful_stop_first_mirrors_what_the_streams_hold(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    await publish_many(bus, [fill(n) for n in range(300)])
    process, task = await start_bridge(bus, tansu, streams=("PAPER",))
    process.request_stop()  # at once: stopped last in the tree, it must still catch up
    await task
    assert process.state == "stopped"
    assert (await bridge_status(bus, streams=("PAPER",), sample_s=0))["at_rest"]
    await bus.close()
    assert_exactly_once(
        nats_seqs(await read_topic(tansu, "paper.orders.filled")), set(range(1, 301))
    )
