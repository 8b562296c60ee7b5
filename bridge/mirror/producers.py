"""One started AIOKafkaProducer per distinct producer profile, created on first use."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError

from bridge.errors import BridgeConfigError, KafkaRefused, kafka_failure
from bridge.mirror.producer_config import ProducerProfile, make_producer
from bridge.topics.overlays import TopicClass, topic_class

__all__ = ["ProducerPool"]

log = logging.getLogger(__name__)


class ProducerPool:
    """Producers by profile and partition counts by topic; `close()` is safe to call twice."""

    def __init__(
        self, bootstrap_servers: str, profiles: dict[TopicClass, ProducerProfile], client_id: str
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._profiles = profiles
        self._client_id = client_id
        self._producers: dict[ProducerProfile, Any] = {}
        self._partitions: dict[str, int] = {}
        self._lock = asyncio.Lock()

    def profile(self, topic: str) -> ProducerProfile:
        return self._profiles[topic_class(topic)]

    async def producer(self, topic: str) -> Any:
        profile = self.profile(topic)
        producer = self._producers.get(profile)
        if producer is not None:
            return producer
        async with self._lock:
            producer = self._producers.get(profile)
            if producer is None:
                try:
                    producer = make_producer(self._bootstrap, profile, self._client_id)
                except (ValueError, TypeError, KafkaError) as exc:  # aiokafka checks its settings
                    raise BridgeConfigError(
                        f"producer settings of {topic!r} ({profile}) are refused by aiokafka: "
                        f"{exc}; fix them in ALPHA_PANDA_BRIDGE_PRODUCER"
                    ) from exc
                try:
                    async with asyncio.timeout(profile.request_timeout_ms / 1000):
                        await producer.start()
                except (Exception, TimeoutError) as exc:
                    await _stop_quietly(producer)
                    raise _start_failure(profile, exc) from exc
                self._producers[profile] = producer
        return producer

    async def partitions(self, topic: str) -> int:
        """The topic's partition count, read once per pool (a pool lives for one epoch)."""
        count = self._partitions.get(topic)
        if count is not None:
            return count
        producer = await self.producer(topic)
        what = f"reading the partitions of {topic!r}"
        timeout_s = self.profile(topic).request_timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout_s):
                parts = await producer.partitions_for(topic)
        except UnknownTopicOrPartitionError as exc:  # absent, or no broker answered at all
            raise await _absent_or_unreachable(producer, topic, what, exc, timeout_s) from exc
        except (Exception, TimeoutError) as exc:
            raise kafka_failure(what, exc) from exc
        if not parts:
            raise await _absent_or_unreachable(
                producer, topic, what, LookupError("no partitions"), timeout_s
            )
        count = len(parts)
        self._partitions[topic] = count
        return count

    def forget(self, topic: str) -> None:
        self._partitions.pop(topic, None)

    async def close(self) -> None:
        producers, self._producers = self._producers, {}
        self._partitions.clear()
        for producer in producers.values():  # idle by now: the pipeline settled its batches
            await _stop_quietly(producer)


async def _absent_or_unreachable(
    producer: Any, topic: str, what: str, exc: BaseException, timeout_s: float
) -> Exception:
    """A topic aiokafka did not find is missing only if a broker says so: during an outage
    its metadata wait ends the same way, and that is worth retrying."""
    try:
        async with asyncio.timeout(timeout_s):
            metadata = await producer.client.fetch_all_metadata()
    except (Exception, TimeoutError) as unreachable:
        return kafka_failure(what, unreachable)
    if topic in metadata.topics():
        return kafka_failure(what, exc)  # it exists after all (just created): retry
    return kafka_failure(what, exc, missing_topic=True)


def _start_failure(profile: ProducerProfile, exc: BaseException) -> Exception:
    """Why a producer did not start. An idempotent one needs InitProducerId, which some
    Kafka-protocol brokers (Tansu) answer with an error: that is a setting to change."""
    if (
        profile.enable_idempotence
        and isinstance(exc, KafkaError)
        and not getattr(exc, "retriable", False)
    ):
        return KafkaRefused(
            "starting an idempotent producer",
            exc,
            "the broker does not support idempotent producers: set "
            "ALPHA_PANDA_BRIDGE_PRODUCER=<class>.enable_idempotence=false (the bridge is "
            "exactly-once without them)",
        )
    return kafka_failure("connecting the producer", exc)


async def _stop_quietly(producer: Any, timeout_s: float = 5.0) -> None:
    """Stop a producer; with the broker gone, pending batches fail (we resend them anyway)."""
    try:
        async with asyncio.timeout(timeout_s):
            await producer.stop()
    except (Exception, TimeoutError) as exc:
        log.warning("bridge producer did not stop cleanly: %s: %s", type(exc).__name__, exc)
