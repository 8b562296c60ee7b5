"""Topic classes and the per-environment topic overlays (pure; no I/O).

A topic's *class* decides its partitions, retention and producer settings. Partitions
follow throughput (ticks > signals > orders); retention is explicit per class; every
topic has a `.dlq` twin that keeps dead letters longer than the topic itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from schemas.avro import DLQ_SUFFIX, catalog_topics
from schemas.names import ALERTS_TOPIC, AUDIT_TOPIC, BROKERS, CONTROL_TOPIC

__all__ = [
    "TopicClass",
    "TOPIC_CLASSES",
    "TopicSpec",
    "TopicOverlay",
    "TopicPlan",
    "TOPIC_OVERLAYS",
    "topic_class",
    "plan_topic",
    "plan_topics",
]

TopicClass = Literal[
    "ticks", "signals", "orders", "pnl", "control", "alerts", "audit", "events", "dlq"
]
TOPIC_CLASSES: Final[tuple[TopicClass, ...]] = get_args(TopicClass)

DAY_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    partitions: int
    retention_ms: int


@dataclass(frozen=True, slots=True)
class TopicOverlay:
    """One environment: replication wanted (capped by the broker count) and specs per class."""

    replication: int
    min_insync_replicas: int
    classes: dict[TopicClass, TopicSpec]


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """What a topic should look like on a given cluster."""

    name: str
    topic_class: TopicClass
    partitions: int
    replication: int
    configs: dict[str, str]


def _classes(
    days: dict[TopicClass, float], parts: dict[TopicClass, int]
) -> dict[TopicClass, TopicSpec]:
    return {c: TopicSpec(parts[c], int(days[c] * DAY_MS)) for c in TOPIC_CLASSES}


_DEV_PARTS: Final[dict[TopicClass, int]] = {
    "ticks": 6, "signals": 3, "orders": 2, "pnl": 1, "control": 1, "alerts": 1, "audit": 1,
    "events": 1, "dlq": 1,
}  # fmt: skip
_PROD_PARTS: Final[dict[TopicClass, int]] = {
    "ticks": 24, "signals": 12, "orders": 6, "pnl": 3, "control": 1, "alerts": 1, "audit": 1,
    "events": 3, "dlq": 3,
}  # fmt: skip

TOPIC_OVERLAYS: Final[dict[str, TopicOverlay]] = {
    "dev": TopicOverlay(
        replication=1,
        min_insync_replicas=1,
        classes=_classes(
            {"ticks": 1, "signals": 7, "orders": 30, "pnl": 7, "control": 30, "alerts": 7,
             "audit": 90, "events": 7, "dlq": 90},
            _DEV_PARTS,
        ),
    ),
    "test": TopicOverlay(
        replication=1,
        min_insync_replicas=1,
        classes=_classes(
            {"ticks": 1, "signals": 1, "orders": 1, "pnl": 1, "control": 1, "alerts": 1,
             "audit": 1, "events": 1, "dlq": 7},
            {**_DEV_PARTS, "ticks": 4},
        ),
    ),
    "production": TopicOverlay(
        replication=3,
        min_insync_replicas=2,
        classes=_classes(
            {"ticks": 7, "signals": 30, "orders": 400, "pnl": 90, "control": 400, "alerts": 90,
             "audit": 7 * 365, "events": 30, "dlq": 3 * 365},
            _PROD_PARTS,
        ),
    ),
}  # fmt: skip


def topic_class(topic: str) -> TopicClass:
    """The class of a topic name (DESIGN's naming table)."""
    if topic.endswith(DLQ_SUFFIX):
        return "dlq"
    head, _, rest = topic.partition(".")
    if head == "market":
        return "ticks"
    if head in BROKERS:
        area = rest.split(".", 1)[0]
        if area == "signals":
            return "signals"
        if area == "orders":
            return "orders"
        if area == "pnl":
            return "pnl"
        return "events"
    if topic == CONTROL_TOPIC:
        return "control"
    if topic in (ALERTS_TOPIC, AUDIT_TOPIC):
        return topic  # type: ignore[return-value]
    return "events"


def plan_topic(topic: str, env: str, brokers: int) -> TopicPlan:
    """The wanted shape of `topic` in `env` on a cluster of `brokers` nodes.

    A dead-letter twin keeps the dlq class's partitions and at least its origin's
    retention, so a letter never expires before the records around it.
    """
    overlay = TOPIC_OVERLAYS[env]
    cls = topic_class(topic)
    spec = overlay.classes[cls]
    retention = spec.retention_ms
    if cls == "dlq":
        origin = overlay.classes[topic_class(topic[: -len(DLQ_SUFFIX)])]
        retention = max(retention, origin.retention_ms)
    replication = max(1, min(overlay.replication, brokers))
    configs = {
        "cleanup.policy": "delete",
        "retention.ms": str(retention),
        "min.insync.replicas": str(min(overlay.min_insync_replicas, replication)),
    }
    return TopicPlan(topic, cls, spec.partitions, replication, configs)


def plan_topics(env: str, brokers: int) -> list[TopicPlan]:
    """Every catalog topic and its `.dlq` twin, planned for `env`."""
    if env not in TOPIC_OVERLAYS:
        raise ValueError(
            f"unknown environment {env!r}; expected one of {', '.join(TOPIC_OVERLAYS)}"
        )
    return [plan_topic(t, env, brokers) for t in catalog_topics()]
