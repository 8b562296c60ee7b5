"""Replay: a topic back into NATS with the original ids, in stream order, filtered and ranged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge.replay.republish import ReplayRequest, replay
from supervisors.bus import Bus
from tests.bridge.helpers import fill, make_streams, publish_many, start_bridge, tick, wait_for
from tests.conftest import NatsServer


@pytest.fixture
async def other_nats() -> AsyncIterator[Bus]:
    """A second, empty NATS (JetStream) to replay into."""
    server = NatsServer()
    server.start()
    bus = await Bus.connect(server.url)
    await make_streams(bus)
    yield bus
    await bus.close()
    server.cleanup()


async def _mirrored(
    fresh_nats: NatsServer, tansu: str, items: list[tuple[str, Any]], streams: tuple[str, ...]
) -> Bus:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    await publish_many(bus, items)
    process, task = await start_bridge(bus, tansu, streams=streams)
    await wait_for(lambda: sum(process.figures[s].mirrored for s in streams) == len(items))
    process.request_stop()
    await task
    return bus


async def _stream_messages(bus: Bus, stream: str) -> list[tuple[str, bytes, dict[str, str]]]:
    out = []
    last = await bus.stream_last_seq(stream)
    for seq in range(1, last + 1):
        msg = await bus.js.get_msg(stream, seq)
        out.append((msg.subject or "", msg.data or b"", dict(msg.headers or {})))
    return out


async def test_replay_round_trip_restores_bodies_ids_and_stream_order(
    fresh_nats: NatsServer, tansu: str, other_nats: Bus
) -> None:
    items = [tick(t % 11 + 1) for t in range(600)]
    bus = await _mirrored(fresh_nats, tansu, items, ("MARKET",))
    summary = await replay(other_nats, tansu, ReplayRequest(topic="market.ticks"), progress=False)
    assert (summary.read, summary.published, summary.duplicates) == (600, 600, 0)
    original = await _stream_messages(bus, "MARKET")
    replayed = await _stream_messages(other_nats, "MARKET")
    assert [(s, d) for s, d, _ in replayed] == [(s, d) for s, d, _ in original]
    assert [h["Nats-Msg-Id"] for *_, h in replayed] == [h["Nats-Msg-Id"] for *_, h in original]
    again = await replay(bus, tansu, ReplayRequest(topic="market.ticks"), progress=False)
    assert (again.published, again.duplicates) == (0, 600), "JetStream dedup drops recent ids"
    await bus.close()


async def test_filters_ranges_and_dry_run_select_without_publishing(
    fresh_nats: NatsServer, tansu: str, other_nats: Bus
) -> None:
    items = [fill(n) for n in range(30)]
    bus = await _mirrored(fresh_nats, tansu, items, ("PAPER",))
    await bus.close()
    dry = await replay(
        other_nats, tansu, ReplayRequest(topic="paper.orders.filled", dry_run=True), progress=False
    )
    assert (dry.matched, dry.published, dry.mode) == (30, 0, "dry-run")
    assert dry.subjects == {"paper.orders.filled": 30}
    assert await other_nats.stream_last_seq("PAPER") == 0
    ranged = ReplayRequest(topic="paper.orders.filled", from_offset=10, to_offset=19,
                           filters={"type": ("order.filled",)}, to_subject="paper.orders.replayed")  # fmt: skip
    summary = await replay(other_nats, tansu, ranged, progress=False)
    assert (summary.matched, summary.published) == (10, 10)
    assert summary.subjects == {"paper.orders.replayed": 10}
    none = await replay(other_nats, tansu, ReplayRequest(topic="paper.orders.filled",
                        filters={"type": ("market.tick",)}), progress=False)  # fmt: skip
    assert (none.read, none.matched) == (30, 0)
    future = await replay(other_nats, tansu, ReplayRequest(topic="paper.orders.filled",
                          from_time="2999-01-01T00:00:00Z"), progress=False)  # fmt: skip
    assert future.read == 0
