"""Topic bootstrap and health against a live cluster, from `bridge.topics.overlays`.

`bootstrap_topics` (behind `alpha-panda ops bootstrap`) creates missing topics and raises
partitions and configs to the overlay; it never lowers anything. Adding partitions moves
keys between partitions, so do it with the bridge at rest (`alpha-panda bridge status`
shows zero lag): the resume rule maps a message to its partition by the current count.
`ensure_topics` (the bridge at start) only creates what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from bridge.errors import BridgeError, kafka_failure
from bridge.topics.overlays import TopicPlan, plan_topics

__all__ = ["bootstrap_topics", "check_topics", "ensure_topics", "describe_live", "LiveTopic"]

_TOPIC_EXISTS: Final = 36
_CHECKED_CONFIGS: Final = ("retention.ms",)


class LiveTopic:
    """A topic as the cluster reports it."""

    __slots__ = ("configs", "name", "partitions", "replication")

    def __init__(
        self, name: str, partitions: int, replication: int, configs: dict[str, str]
    ) -> None:
        self.name = name
        self.partitions = partitions
        self.replication = replication
        self.configs = configs


@asynccontextmanager
async def _admin(bootstrap_servers: str, timeout_s: float = 15.0) -> AsyncIterator[Any]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="alpha-panda-topics",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
    except (Exception, TimeoutError) as exc:
        await _close(admin)
        raise kafka_failure(f"connecting to Kafka at {bootstrap_servers}", exc) from exc
    try:
        yield admin
    finally:
        await _close(admin)


async def _close(admin: Any) -> None:
    try:
        async with asyncio.timeout(5):
            await admin.close()
    except (Exception, TimeoutError):  # never started or the broker vanished
        pass


async def describe_live(admin: Any, names: list[str]) -> dict[str, LiveTopic]:
    """Partitions, replication and the checked configs of the topics that exist."""
    existing = set(await admin.list_topics())
    wanted = [n for n in names if n in existing]
    live: dict[str, LiveTopic] = {}
    if not wanted:
        return live
    for entry in await admin.describe_topics(wanted):
        parts = entry.get("partitions") or []
        replication = min((len(p.get("replicas") or []) for p in parts), default=0)
        live[entry["topic"]] = LiveTopic(entry["topic"], len(parts), replication, {})
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in live]
        for response in await admin.describe_configs(resources):
            for resource in response.resources:
                name, entries = resource[3], resource[4]
                if name in live:
                    live[name].configs = {str(e[0]): str(e[1]) for e in entries}
    except Exception:  # a broker without DescribeConfigs: configs are then not compared
        pass
    return live


async def _broker_count(admin: Any) -> int:
    cluster = await admin.describe_cluster()
    return max(1, len(cluster.get("brokers") or []))


async def ensure_topics(bootstrap_servers: str, env: str) -> list[str]:
    """Create the catalog topics that are missing (nothing else); returns the created ones.

    A creation the cluster refuses for good (a setting, a permission) raises `KafkaRefused`:
    without its topics the bridge could only retry forever.
    """
    try:
        async with _admin(bootstrap_servers) as admin:
            plans = plan_topics(env, await _broker_count(admin))
            existing = set(await admin.list_topics())
            missing = [p for p in plans if p.name not in existing]
            outcomes = await _create_topics(admin, missing)
    except BridgeError:
        raise
    except Exception as exc:
        raise kafka_failure("creating the bridge's topics", exc) from exc
    for name, (code, message) in outcomes.items():
        if code not in (0, _TOPIC_EXISTS):
            error = kafka_errors.for_code(code)(message or None)
            raise kafka_failure(f"creating topic {name!r} for the {env} overlay", error)
    return [p.name for p in missing]


async def _create_topics(admin: Any, plans: list[TopicPlan]) -> dict[str, tuple[int, str]]:
    """Topic → (Kafka error code, message) of a CreateTopics request."""
    if not plans:
        return {}
    response = await admin.create_topics(
        [NewTopic(p.name, p.partitions, p.replication, topic_configs=p.configs) for p in plans]
    )
    return {e[0]: (int(e[1]), str(e[2] or "") if len(e) > 2 else "") for e in response.topic_errors}


async def _create(admin: Any, plans: list[TopicPlan]) -> dict[str, str]:
    return {
        name: "created" if code in (0, _TOPIC_EXISTS) else f"error: {code} {message}"
        for name, (code, message) in (await _create_topics(admin, plans)).items()
    }


async def bootstrap_topics(bootstrap_servers: str, env: str) -> dict[str, str]:
    """Create or update every catalog topic; topic → created/updated/unchanged/error: why."""
    async with _admin(bootstrap_servers) as admin:
        plans = plan_topics(env, await _broker_count(admin))
        live = await describe_live(admin, [p.name for p in plans])
        results = await _create(admin, [p for p in plans if p.name not in live])
        for plan in plans:
            current = live.get(plan.name)
            if current is None:
                continue
            results[plan.name] = await _update(admin, plan, current)
        return {p.name: results.get(p.name, "unchanged") for p in plans}


async def _update(admin: Any, plan: TopicPlan, live: LiveTopic) -> str:
    changes: list[str] = []
    if live.partitions < plan.partitions:
        try:
            await admin.create_partitions({plan.name: NewPartitions(plan.partitions)})
            changes.append(f"partitions {live.partitions}->{plan.partitions}")
        except Exception as exc:
            return f"error: cannot add partitions ({type(exc).__name__}: {exc})"
    drift = {k: v for k, v in plan.configs.items() if k in live.configs and live.configs[k] != v}
    if drift:
        try:
            configs = {**live.configs, **plan.configs}
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, plan.name, configs)]
            )
            changes.append("configs " + ",".join(sorted(drift)))
        except Exception as exc:
            return f"error: cannot alter configs ({type(exc).__name__}: {exc})"
    return "updated: " + "; ".join(changes) if changes else "unchanged"


async def check_topics(bootstrap_servers: str, env: str) -> list[str]:
    """Problems of the live topics against the overlay, each with the command that fixes it."""
    fix = f"alpha-panda ops bootstrap --env {env}"
    async with _admin(bootstrap_servers) as admin:
        brokers = await _broker_count(admin)
        plans = plan_topics(env, brokers)
        live = await describe_live(admin, [p.name for p in plans])
    problems: list[str] = []
    for plan in plans:
        current = live.get(plan.name)
        if current is None:
            problems.append(f"topic {plan.name} is missing; run `{fix}`")
            continue
        if current.partitions < plan.partitions:
            problems.append(
                f"topic {plan.name} has {current.partitions} partitions, the {env} overlay wants "
                f"{plan.partitions}; stop the bridge at zero lag, then run `{fix}`"
            )
        if current.replication < plan.replication:
            problems.append(
                f"topic {plan.name} has replication factor {current.replication}, the {env} "
                f"overlay wants {plan.replication} ({brokers} broker(s)); run "
                f"`rpk topic alter-config {plan.name} --set replication.factor={plan.replication}`"
            )
        for key in _CHECKED_CONFIGS:
            have, want = current.configs.get(key), plan.configs.get(key)
            if have is not None and want is not None and have != want:
                problems.append(
                    f"topic {plan.name} has {key}={have}, the {env} overlay wants {want}; "
                    f"run `{fix}`"
                )
    return problems
