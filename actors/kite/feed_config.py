"""The Kite feed's knobs (`ALPHA_PANDA_KITE_FEED`, JSON) and its sharding plan.

Kite allows 3 ticker connections per API key and 3,000 instruments per connection; the plan
spreads the subscribed tokens over as few connections as hold them, and more than 9,000 is a
configuration error (naming the count and the fix), not a silent truncation.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec

from actors.kite.packets import MODES
from schemas.errors import ConfigError

__all__ = [
    "KiteFeedConfig",
    "KiteFeedConfigError",
    "plan_shards",
    "check_ws_root",
    "MAX_CONNECTIONS",
    "MAX_PER_CONNECTION",
]

MAX_CONNECTIONS = 3
MAX_PER_CONNECTION = 3_000


class KiteFeedConfigError(ConfigError):
    """The Kite feed cannot subscribe as configured; the message says what to change."""


class KiteFeedConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`stall_s`: silence (no frame, not even a heartbeat; Kite sends one a second) after
    which the watchdog aborts a connection; backoff of reconnects from `backoff_min_s`
    doubling to `backoff_max_s`; `queue` ticks may wait between the reactor and the loop."""

    mode: str = "full"
    stall_s: float = 5.0
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 10.0
    queue: int = 20_000
    max_per_connection: int = MAX_PER_CONNECTION

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"kite feed mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.stall_s <= 0:
            raise ValueError(f"kite feed stall_s must be > 0 seconds, got {self.stall_s}")
        if not 0 < self.backoff_min_s <= self.backoff_max_s:
            raise ValueError(
                "kite feed backoff needs 0 < backoff_min_s <= backoff_max_s, got "
                f"{self.backoff_min_s} and {self.backoff_max_s}"
            )
        if self.connect_timeout_s <= 0:
            raise ValueError(
                f"kite feed connect_timeout_s must be > 0, got {self.connect_timeout_s}"
            )
        if self.queue < 1:
            raise ValueError(f"kite feed queue must hold at least 1 tick, got {self.queue}")
        if not 1 <= self.max_per_connection <= MAX_PER_CONNECTION:
            raise ValueError(
                f"kite feed max_per_connection must be 1..{MAX_PER_CONNECTION} (Kite's limit), "
                f"got {self.max_per_connection}"
            )


def plan_shards(tokens: Iterable[int], per_connection: int = MAX_PER_CONNECTION) -> list[list[int]]:
    """The tokens (deduplicated, sorted) in chunks of at most `per_connection`, at most 3."""
    unique = sorted(set(tokens))
    if not unique:
        raise KiteFeedConfigError(
            "the kite feed has no instruments to subscribe: enable a strategy that trades "
            "an instrument of the book (strategies.yaml)"
        )
    limit = MAX_CONNECTIONS * per_connection
    if len(unique) > limit:
        raise KiteFeedConfigError(
            f"the kite feed would subscribe {len(unique):,} instruments; Kite allows "
            f"{MAX_CONNECTIONS} connections of {per_connection:,} per API key ({limit:,}): "
            "trade fewer instruments (strategies.yaml) or split them over API keys"
        )
    return [unique[i : i + per_connection] for i in range(0, len(unique), per_connection)]


def check_ws_root(ws_root: str) -> None:
    """KITE_WS_ROOT must be a WebSocket URL; else the ticker would fail inside the reactor,
    where nobody sees it."""
    parts = urlsplit(ws_root)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise KiteFeedConfigError(
            f"KITE_WS_ROOT {ws_root!r} is not a WebSocket URL: use wss://ws.kite.trade "
            "(Kite) or the ws:// line `alpha-panda sim kite` prints"
        )
