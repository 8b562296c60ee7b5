"""The bridge's failure policy against real servers: a record Kafka can never take goes to its
`.dlq` twin and counts for the resume rule; a setting retrying cannot fix stops the bridge
with its remedy, and its supervisor leaves it stopped while the rest of the tree runs."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import errors as kafka_errors

from bridge.errors import KafkaRefused, KafkaUnavailable, kafka_failure
from bridge.mirror.child import bridge_child_spec
from bridge.mirror.producer_config import apply_overrides, default_profiles
from bridge.replay.republish import ReplayRequest, replay
from ops.cli import main as cli_main
from ops.settings import load_settings
from schemas.enums import Side
from schemas.envelope import Envelope, new_envelope
from schemas.events import OrderFilled
from schemas.names import ORDERS_FILLED, broker_subject
from supervisors.bus import Bus
from supervisors.child import Restart
from supervisors.supervisor import Supervisor, SupervisorSpec
from tests.bridge.helpers import (
    assert_exactly_once,
    fill,
    make_streams,
    nats_seqs,
    publish_many,
    read_topic,
    start_bridge,
    wait_for,
)
from tests.conftest import NatsServer

SMALL = apply_overrides(default_profiles(), ["*.max_request_bytes=4096"])


def _big_fill(n: int) -> tuple[str, Envelope[Any]]:
    data = OrderFilled(
        client_order_id=f"co-{n}", broker_order_id=f"bo-{n}", fill_id=f"f-{n}",
        strategy_id="momentum", instrument_token=256265, side=Side.BUY, quantity=1,
        price=Decimal("101.25"), cumulative_quantity=1, order_quantity=1,
        average_price=Decimal("101.25"), final=True, symbol="X" * 8000,
    )  # fmt: skip
    env = new_envelope(data, source="paper", broker="paper", key=data.client_order_id)
    return broker_subject("paper", ORDERS_FILLED), env


async def _stop(process: Any, task: asyncio.Task[None]) -> None:
    process.request_stop()
    await task


async def test_a_record_too_large_for_kafka_goes_to_its_dlq_twin_and_is_not_produced_again(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    items = [fill(n) for n in range(1, 11)]
    items[5] = _big_fill(6)  # stream sequence 6
    await publish_many(bus, items)
    try:
        process, task = await start_bridge(bus, tansu, streams=("PAPER",), profiles=SMALL)
        try:
            await wait_for(lambda: process.figures["PAPER"].mirrored == 10, what="all mirrored")
            assert process.figures["PAPER"].dead_lettered == 1
            assert process.resets == 0  # nothing was retried
        finally:
            await _stop(process, task)
        # A bridge restarted with its consumer gone gets every message again: the letter
        # counts for its `.dlq` partition, so neither it nor its neighbours are produced twice.
        await bus.js.delete_consumer("PAPER", "bridge-paper")
        process, task = await start_bridge(bus, tansu, streams=("PAPER",), profiles=SMALL)
        try:
            await wait_for(lambda: process.figures["PAPER"].skipped == 10, what="all skipped")
            assert process.figures["PAPER"].mirrored == 0
        finally:
            await _stop(process, task)
        redrive = ReplayRequest(topic="paper.orders.filled.dlq", confirm=True)
        summary = await replay(bus, tansu, redrive, progress=False)
        assert (summary.read, summary.omitted, summary.published) == (1, 1, 0)
    finally:
        await bus.close()
    fills = await read_topic(tansu, "paper.orders.filled")
    assert_exactly_once(nats_seqs(fills, "PAPER"), set(range(1, 11)) - {6})
    letters = await read_topic(tansu, "paper.orders.filled.dlq")
    assert nats_seqs(letters, "PAPER") == [6]
    letter = json.loads(letters[0].value)["data"]
    assert letter["error_type"] == "RecordTooLarge"
    assert "4096-byte max_request_bytes" in letter["error"]
    assert "JetStream stream PAPER at sequence 6" in letter["error"]
    assert (letter["payload"], letter["payload_encoding"], letter["stream_seq"]) == (
        "",
        "omitted",
        6,
    )
    assert dict(letters[0].headers)["nats-msg-id"] == items[5][1].id.encode()


async def test_a_producer_setting_the_broker_refuses_stops_the_bridge_with_its_remedy(
    fresh_nats: NatsServer, tansu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tansu has no idempotent producers: InitProducerId fails, and no retry can change that."""
    monkeypatch.setenv("ALPHA_PANDA_BRIDGE_PRODUCER", "*.enable_idempotence=true")
    monkeypatch.setenv("ALPHA_PANDA_BRIDGE_STREAMS", "PAPER")
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    await publish_many(bus, [fill(1)])
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=tansu, ALPHA_PANDA_ENV="test")
    spec = bridge_child_spec(bus, settings)
    assert spec is not None and spec.restart is Restart.TRANSIENT
    sup = Supervisor(SupervisorSpec(name="root", children=[spec], max_restarts=3, period_s=60))
    task = asyncio.create_task(sup.run(lambda: None))
    try:
        await wait_for(lambda: sup.status().children[0].state == "failed", 40, "the bridge stopped")
        child = sup.status().children[0]
        assert "KafkaRefused" in str(child.last_error)
        assert "enable_idempotence=false" in str(child.last_error)
        assert (child.restarts, child.figures["resets"]) == (0, 0)
        assert not task.done()  # the tree goes on without its bridge
        info = await bus.js.consumer_info("PAPER", "bridge-paper")
        assert int(info.ack_floor.stream_seq or 0) == 0  # the message waits for the fixed bridge
    finally:
        sup.request_stop()
        await task
        await bus.close()


def test_a_bad_producer_override_stops_up_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # a data directory of its own, not the checkout's var/
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("ALPHA_PANDA_BRIDGE_PRODUCER", "ticks.linger=5")
    assert cli_main(["up", "--duration", "1"]) == 2
    assert "expected CLASS.FIELD=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("cause", "remedy"),
    [
        (kafka_errors.TopicAuthorizationFailedError(), "grant the bridge's Kafka principal"),
        (kafka_errors.SaslAuthenticationFailed(), "fix its credentials"),
        (kafka_errors.InvalidReplicationFactorError(), "alpha-panda ops bootstrap"),
        (kafka_errors.InvalidConfigurationError(), "topic settings of the environment"),
        (kafka_errors.MessageSizeTooLargeError(), "<class>.max_request_bytes="),
        (kafka_errors.UnsupportedCodecError(), "*.compression=gzip"),
    ],
)
def test_kafka_errors_retrying_cannot_fix_stop_the_bridge_with_a_remedy(
    cause: Exception, remedy: str
) -> None:
    error = kafka_failure("producing 3 records to paper.orders.filled[0]", cause)
    assert isinstance(error, KafkaRefused) and not error.retriable
    assert remedy in str(error)


@pytest.mark.parametrize(
    "cause",
    [
        kafka_errors.KafkaConnectionError(),
        kafka_errors.RequestTimedOutError(),
        kafka_errors.NotLeaderForPartitionError(),
        kafka_errors.UnknownTopicOrPartitionError(),  # a leader moving, mid-produce
        TimeoutError(),
    ],
)
def test_kafka_errors_that_pass_make_the_bridge_retry(cause: Exception) -> None:
    error = kafka_failure("producing", cause)
    assert isinstance(error, KafkaUnavailable) and error.retriable


def test_a_topic_still_missing_after_the_metadata_wait_is_a_setting_to_fix() -> None:
    error = kafka_failure(
        "reading", kafka_errors.UnknownTopicOrPartitionError(), missing_topic=True
    )
    assert isinstance(error, KafkaRefused) and "alpha-panda ops bootstrap" in str(error)
