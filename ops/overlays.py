"""Per-environment overlays: stream replicas, retention, duplicate windows and limits.

The duplicate window must outlast the longest outage it covers (crash, backoff, restart),
because redelivered inputs rely on it to drop duplicate outputs. Per-broker streams are
low-rate, so an hour of message ids costs little; the tick stream is high-rate and only
dedups the feed's own retries, so two minutes is enough there.
"""

from __future__ import annotations

from dataclasses import dataclass

from ops.settings import Env
from schemas.names import (
    ALERTS_STREAM,
    AUDIT_STREAM,
    CONTROL_STREAM,
    DLQ_STREAM,
    MARKET_STREAM,
    PAPER_STREAM,
    STREAMS,
    ZERODHA_STREAM,
)
from supervisors.bus import StreamSettings

__all__ = ["StreamOverlay", "Overlay", "OVERLAYS", "overlay_for", "stream_settings"]

HOUR = 3600.0
DAY = 24 * HOUR
GIB = 1024**3


@dataclass(frozen=True, slots=True)
class StreamOverlay:
    max_age_s: float
    duplicate_window_s: float
    max_bytes: int = -1


@dataclass(frozen=True, slots=True)
class Overlay:
    replicas: int
    streams: dict[str, StreamOverlay]
    ack_wait_s: float = 30.0
    max_deliver: int = 5


def _streams(scale: float, market_bytes: int) -> dict[str, StreamOverlay]:
    return {
        MARKET_STREAM.name: StreamOverlay(DAY * scale, 120.0, market_bytes),
        PAPER_STREAM.name: StreamOverlay(30 * DAY * scale, HOUR),
        ZERODHA_STREAM.name: StreamOverlay(90 * DAY * scale, HOUR),
        DLQ_STREAM.name: StreamOverlay(90 * DAY * scale, HOUR),
        CONTROL_STREAM.name: StreamOverlay(365 * DAY * scale, HOUR),
        ALERTS_STREAM.name: StreamOverlay(30 * DAY * scale, HOUR),
        AUDIT_STREAM.name: StreamOverlay(365 * DAY * scale, HOUR),
    }


OVERLAYS: dict[str, Overlay] = {
    "dev": Overlay(replicas=1, streams=_streams(1.0, 2 * GIB)),
    "test": Overlay(replicas=1, streams=_streams(1 / 30, 512 * 1024**2), ack_wait_s=5.0),
    "production": Overlay(replicas=3, streams=_streams(3.0, 50 * GIB)),
}


def overlay_for(env: Env) -> Overlay:
    return OVERLAYS[env]


def stream_settings(env: Env, *, replicas: int | None = None) -> list[StreamSettings]:
    """Every stream of DESIGN.md with this environment's overlay applied."""
    overlay = overlay_for(env)
    out = []
    for name, spec in STREAMS.items():
        o = overlay.streams[name]
        out.append(
            StreamSettings(
                name,
                spec.subjects,
                replicas=replicas or overlay.replicas,
                max_age_s=o.max_age_s,
                max_bytes=o.max_bytes,
                duplicate_window_s=o.duplicate_window_s,
            )
        )
    return out
