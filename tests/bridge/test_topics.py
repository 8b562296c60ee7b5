"""Topic bootstrap and health against a live broker."""

from __future__ import annotations

from bridge.topics.admin import bootstrap_topics, check_topics
from bridge.topics.overlays import plan_topics
from tests.bridge.helpers import read_topic


async def test_bootstrap_creates_every_topic_with_its_dlq_twin_and_is_idempotent(
    tansu: str,
) -> None:
    first = await bootstrap_topics(tansu, "dev")
    plans = plan_topics("dev", brokers=1)
    assert set(first) == {p.name for p in plans}
    assert set(first.values()) == {"created"}
    assert "paper.orders.filled.dlq" in first and "market.ticks.dlq" in first
    second = await bootstrap_topics(tansu, "dev")
    assert set(second.values()) == {"unchanged"}
    assert await check_topics(tansu, "dev") == []
    assert await read_topic(tansu, "market.ticks", idle_ms=200) == []


async def test_health_names_each_shortfall_with_the_command_that_fixes_it(tansu: str) -> None:
    missing = await check_topics(tansu, "dev")
    assert any(
        "topic market.ticks is missing; run `alpha-panda ops bootstrap --env dev`" in p
        for p in missing
    )
    await bootstrap_topics(tansu, "dev")
    problems = await check_topics(tansu, "production")
    ticks = [p for p in problems if p.startswith("topic market.ticks ")]
    assert any("has 6 partitions, the production overlay wants 24" in p for p in ticks)
    assert any("retention.ms=86400000" in p and "--env production" in p for p in ticks)
    assert not any("replication factor" in p for p in problems)  # one broker caps it at 1
