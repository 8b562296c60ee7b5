"""`ops bootstrap` creates every stream of DESIGN.md once and is idempotent."""

from __future__ import annotations

from ops.bootstrap import bootstrap_streams
from ops.overlays import overlay_for
from schemas.names import STREAMS
from supervisors.bus import Bus
from tests.conftest import NatsServer


async def test_bootstrap_creates_every_stream_then_changes_nothing(fresh_nats: NatsServer) -> None:
    bus = await Bus.connect(fresh_nats.url)
    try:
        first = await bootstrap_streams(bus, "dev")
        assert first == dict.fromkeys(STREAMS, "created")
        assert await bootstrap_streams(bus, "dev") == dict.fromkeys(STREAMS, "unchanged")
        info = await bus.js.stream_info("PAPER")
        assert info.config.subjects == ["paper.>"]
        assert (
            info.config.duplicate_window == overlay_for("dev").streams["PAPER"].duplicate_window_s
        )
        changed = await bootstrap_streams(bus, "test")  # another overlay updates in place
        assert set(changed.values()) == {"updated"}
    finally:
        await bus.close()


async def test_production_replicas_are_capped_by_a_single_node_server(
    fresh_nats: NatsServer,
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    try:
        await bootstrap_streams(bus, "production")
        assert (await bus.js.stream_info("MARKET")).config.num_replicas == 1
    finally:
        await bus.close()
