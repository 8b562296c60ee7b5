"""The bridge's configuration: one frozen object, built once from the settings."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from bridge.errors import BridgeConfigError
from bridge.mirror.producer_config import ProducerProfile, apply_overrides, default_profiles
from bridge.topics.overlays import TOPIC_OVERLAYS, TopicClass
from schemas.names import STREAMS

__all__ = ["BridgeConfig", "BridgeSettings", "MIRRORED_STREAMS", "PRODUCER_ENV"]

MIRRORED_STREAMS: Final = tuple(STREAMS)
PRODUCER_ENV: Final = "ALPHA_PANDA_BRIDGE_PRODUCER"
STREAMS_ENV: Final = "ALPHA_PANDA_BRIDGE_STREAMS"


class BridgeSettings(Protocol):
    """What the bridge reads of the application's settings (`ops.settings.Settings` has it)."""

    @property
    def kafka_bootstrap_servers(self) -> str | None: ...
    @property
    def schema_registry_url(self) -> str | None: ...
    @property
    def env(self) -> str: ...


@dataclass(frozen=True)
class BridgeConfig:
    """What `BridgeProcess` needs. Units are in the names (STYLE 10)."""

    bootstrap_servers: str
    env: str = "dev"
    streams: tuple[str, ...] = MIRRORED_STREAMS
    registry_url: str | None = None
    auto_register: bool = True
    durable_prefix: str = "bridge"
    profiles: dict[TopicClass, ProducerProfile] = field(default_factory=default_profiles)
    max_ack_pending: int = 20000
    pull_batch: int = 1000
    ack_wait_s: float = 60.0
    ensure_topics: bool = True
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_jitter: float = 0.2
    lag_interval_s: float = 2.0
    drain_timeout_s: float = 4.0
    client_id: str = "alpha-panda-bridge"

    def __post_init__(self) -> None:
        if not self.bootstrap_servers:
            raise BridgeConfigError("the bridge needs KAFKA_BOOTSTRAP_SERVERS (host:port[,...])")
        if self.env not in TOPIC_OVERLAYS:
            raise BridgeConfigError(
                f"unknown environment {self.env!r}; expected one of {', '.join(TOPIC_OVERLAYS)}"
            )
        unknown = [s for s in self.streams if s not in STREAMS]
        if unknown or not self.streams:
            raise BridgeConfigError(
                f"unknown streams {unknown}; the bridge mirrors some of {', '.join(STREAMS)}"
            )

    def durable(self, stream: str) -> str:
        """The bridge's durable consumer on `stream` (names may not contain '.')."""
        return f"{self.durable_prefix}-{stream.lower()}"

    @classmethod
    def from_settings(
        cls,
        settings: BridgeSettings,
        *,
        producer_overrides: Iterable[str] = (),
        streams: tuple[str, ...] = (),
        environ: Mapping[str, str] | None = None,
    ) -> BridgeConfig:
        """From the settings object, plus `ALPHA_PANDA_BRIDGE_PRODUCER` (comma-separated
        `class.field=value` items) and `ALPHA_PANDA_BRIDGE_STREAMS` (comma-separated names)."""
        env = os.environ if environ is None else environ
        if not settings.kafka_bootstrap_servers:
            raise BridgeConfigError("KAFKA_BOOTSTRAP_SERVERS is not set: the bridge is off")
        items = [*env.get(PRODUCER_ENV, "").split(","), *producer_overrides]
        profiles = apply_overrides(default_profiles(), items)
        streams_csv = env.get(STREAMS_ENV, "")
        streams = streams or tuple(s.strip().upper() for s in streams_csv.split(",") if s.strip())
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            env=settings.env,
            streams=streams or MIRRORED_STREAMS,
            registry_url=settings.schema_registry_url or None,
            profiles=profiles,
        )
