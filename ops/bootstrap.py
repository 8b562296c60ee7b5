"""`alpha-panda ops bootstrap`: create or update the streams (idempotent)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import nats.errors
from nats.js import api as js_api
from nats.js.errors import NotFoundError, ServiceUnavailableError

from ops.overlays import overlay_for, stream_settings
from ops.settings import Env
from schemas.names import STATE_BUCKET, kv_stream
from supervisors.bus import Bus, StreamSettings

__all__ = ["bootstrap_streams"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how long a cluster may take to elect a leader (meta or a stream's) after losing a node
ELECTION_WAIT_S = 30.0


async def _through_elections(step: Callable[[], Awaitable[T]], what: str) -> T:
    """Run a JetStream API step, again while the cluster answers "no leader yet": right
    after a node is lost, requests time out or get 503 until the survivors elect one."""
    deadline = time.monotonic() + ELECTION_WAIT_S
    while True:
        try:
            return await step()
        except (nats.errors.TimeoutError, ServiceUnavailableError) as exc:
            if time.monotonic() > deadline:
                raise
            log.info("%s: %s; the cluster may be electing a leader, trying again", what, exc)
            await asyncio.sleep(0.5)


async def bootstrap_streams(bus: Bus, env: Env, *, state_bucket: bool = True) -> dict[str, str]:
    """Ensure every stream exists with the overlay; returns stream -> created/updated/unchanged.

    A single-node server cannot hold replicas, so the replica count is capped at the
    cluster size the server reports (a dev server started with -js has one node). A stream
    that already has more replicas than the nodes seen now keeps them: a node down for a
    while must not scale the streams down behind the operator's back.
    """
    cluster_size = await _cluster_size(bus)
    results: dict[str, str] = {}
    for spec in stream_settings(env):
        results[spec.name] = await _through_elections(
            partial(_ensure, bus, spec, cluster_size), f"stream {spec.name}"
        )
    replicas = min(overlay_for(env).replicas, cluster_size)
    if replicas > 1 and state_bucket:
        await _through_elections(
            lambda: _replicated_state_bucket(bus, replicas), f"KV bucket {STATE_BUCKET}"
        )
    return results


async def _ensure(bus: Bus, spec: StreamSettings, cluster_size: int) -> str:
    if spec.replicas > cluster_size:
        have = await _replicas(bus, spec.name)
        keep = min(spec.replicas, max(cluster_size, have))
        log.warning(
            "stream %s wants %d replicas but the NATS cluster has %d node(s) up; using %d",
            spec.name,
            spec.replicas,
            cluster_size,
            keep,
        )
        spec.replicas = keep
    return await bus.ensure_stream(spec)


async def _replicas(bus: Bus, stream: str) -> int:
    try:
        info = await bus.js.stream_info(stream)
    except NotFoundError:
        return 0
    return int(info.config.num_replicas or 1)


async def _replicated_state_bucket(bus: Bus, replicas: int) -> None:
    """The actors' snapshot bucket with the streams' replicas: on a cluster, losing the one
    node of an R1 bucket would stop every snapshot (the lease bucket takes its replicas
    from the overlay when the first owner makes it)."""
    try:
        info = await bus.js.stream_info(kv_stream(STATE_BUCKET))
    except NotFoundError:
        await bus.js.create_key_value(
            js_api.KeyValueConfig(
                bucket=STATE_BUCKET, history=1, replicas=replicas, description="alpha-panda state"
            )
        )
        log.info("KV bucket %s created with %d replicas", STATE_BUCKET, replicas)
        return
    if (info.config.num_replicas or 1) < replicas:
        info.config.num_replicas = replicas
        await bus.js.update_stream(info.config)
        log.info("KV bucket %s now has %d replicas", STATE_BUCKET, replicas)


async def _cluster_size(bus: Bus) -> int:
    """The nodes of the server's cluster that it advertises to clients (1 if not clustered)."""
    try:
        await bus.js.account_info()
    except Exception:
        return 1
    server_info = getattr(bus.nc, "_server_info", {})
    connect_urls = server_info.get("connect_urls") or []
    return max(1, len(connect_urls)) if server_info.get("cluster") else 1
