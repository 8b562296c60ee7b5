"""Kite's request rate limits and the simulator's injected faults, both pure state."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimiter", "Faults", "ORDER_LIMITS", "API_LIMITS"]

# (window in seconds, requests allowed): Kite Connect's published limits.
ORDER_LIMITS = ((1.0, 10), (60.0, 400), (86_400.0, 5_000))
API_LIMITS = ((1.0, 10),)


class RateLimiter:
    """Sliding windows; `allow()` records a request only when every window has room."""

    def __init__(
        self,
        limits: tuple[tuple[float, int], ...],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._seen: deque[float] = deque()

    def allow(self) -> bool:
        now = self.clock()
        longest = max(window for window, _ in self.limits)
        while self._seen and self._seen[0] <= now - longest:
            self._seen.popleft()
        for window, allowed in self.limits:
            if sum(1 for t in self._seen if t > now - window) >= allowed:
                return False
        self._seen.append(now)
        return True


@dataclass
class Faults:
    """Faults waiting to happen; counts are spent one request at a time."""

    http_5xx: int = 0
    http_429: int = 0
    timeout_after_place: int = 0
    timeout_s: float = 10.0
    drop_ws: bool = False
    stall_ws: float = 0.0
    bad_packet: int = 0
    expire_token: bool = False

    def update(self, body: dict[str, Any]) -> None:
        """Apply an admin request; unknown keys are refused naming the known ones."""
        known = set(self.__dataclass_fields__)
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(known)}")
        for key, value in body.items():
            kind = type(getattr(self, key))
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"fault {key} takes true or false, got {value!r}")
            elif not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"fault {key} takes a non-negative number, got {value!r}")
            setattr(self, key, kind(value))

    def take(self, name: str) -> bool:
        """Spend one of fault `name`, if any is pending."""
        left = getattr(self, name)
        if left:
            setattr(self, name, left - 1)
            return True
        return False
