"""`alpha-panda ops bootstrap`: create or update the streams (idempotent)."""

from __future__ import annotations

import logging

from ops.overlays import stream_settings
from ops.settings import Env
from supervisors.bus import Bus

__all__ = ["bootstrap_streams"]

log = logging.getLogger(__name__)


async def bootstrap_streams(bus: Bus, env: Env) -> dict[str, str]:
    """Ensure every stream exists with the overlay; returns stream -> created/updated/unchanged.

    A single-node server cannot hold replicas, so the replica count is capped at the
    cluster size the server reports (a dev server started with -js has one node).
    """
    cluster_size = await _cluster_size(bus)
    results: dict[str, str] = {}
    for spec in stream_settings(env):
        if spec.replicas > cluster_size:
            log.warning(
                "stream %s wants %d replicas but the NATS cluster has %d node(s); using %d",
                spec.name,
                spec.replicas,
                cluster_size,
                cluster_size,
            )
            spec.replicas = cluster_size
        results[spec.name] = await bus.ensure_stream(spec)
    return results


async def _cluster_size(bus: Bus) -> int:
    try:
        info = await bus.js.account_info()
    except Exception:
        return 1
    _ = info
    cluster = getattr(bus.nc, "_server_info", {}).get("cluster")
    connect_urls = getattr(bus.nc, "_server_info", {}).get("connect_urls") or []
    return max(1, len(connect_urls)) if cluster else 1
