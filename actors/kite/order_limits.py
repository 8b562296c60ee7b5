"""Kite's order limits, enforced before an order leaves the process (docs/zerodha.md).

Kite allows an account 10 orders a second, 400 a minute and 5,000 a day, across every app
and strategy; a breach answers 429 and repeated breaches can get the app blocked. So one
`OrderLimits` per account is shared by everything in the process that places orders for it
(`limits_for`), and an order that would breach a window is refused here, counted by the
window it breached. Pure: the caller passes the time (ns), so tests need no clock.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from datetime import datetime, timedelta, timezone

__all__ = ["OrderLimits", "KITE_ORDER_LIMITS", "limits_for", "reset_limits"]

_IST = timezone(timedelta(hours=5, minutes=30))
_SECOND_NS = 1_000_000_000

#: (reason, window in seconds, orders allowed) for the sliding windows; the day is Kite's
#: trading day in IST, a calendar count rather than a window
KITE_ORDER_LIMITS: tuple[tuple[str, float, int], ...] = (
    ("orders_per_second", 1.0, 10),
    ("orders_per_minute", 60.0, 400),
)
KITE_ORDERS_PER_DAY = 5_000


class OrderLimits:
    """Sliding windows plus a per-day count; `admit` records an order only if all allow it."""

    def __init__(
        self,
        windows: tuple[tuple[str, float, int], ...] = KITE_ORDER_LIMITS,
        per_day: int = KITE_ORDERS_PER_DAY,
    ) -> None:
        self.windows = tuple((name, int(s * _SECOND_NS), n) for name, s, n in windows)
        self.per_day = per_day
        self.refused: Counter[str] = Counter()
        self.admitted = 0
        self._seen: deque[int] = deque()
        self._day: str = ""
        self._today = 0
        self._lock = threading.Lock()  # shared by every strategy's venue of the account

    def admit(self, now_ns: int) -> str | None:
        """None when the order may go (and it is counted), else the limit it would breach."""
        with self._lock:
            day = datetime.fromtimestamp(now_ns / 1e9, _IST).strftime("%Y-%m-%d")
            if day != self._day:
                self._day, self._today = day, 0
            longest = max((w for _, w, _ in self.windows), default=0)
            while self._seen and self._seen[0] <= now_ns - longest:
                self._seen.popleft()
            reason = None
            if self._today >= self.per_day:
                reason = "orders_per_day"
            else:
                for name, window, allowed in self.windows:
                    if sum(1 for t in self._seen if t > now_ns - window) >= allowed:
                        reason = name
                        break
            if reason is not None:
                self.refused[reason] += 1
                return reason
            self._seen.append(now_ns)
            self._today += 1
            self.admitted += 1
            return None

    def describe(self, reason: str) -> str:
        allowed = {name: f"{n} in {w / _SECOND_NS:g}s" for name, w, n in self.windows}
        allowed["orders_per_day"] = f"{self.per_day} a day"
        return f"Kite's order limit {reason} ({allowed.get(reason, '?')}) would be breached"

    def stats(self) -> dict[str, object]:
        return {"admitted": self.admitted, "refused": dict(self.refused), "today": self._today}


_ACCOUNTS: dict[str, OrderLimits] = {}
_ACCOUNTS_LOCK = threading.Lock()


def limits_for(account: str) -> OrderLimits:
    """The one limiter of an account (its API key) in this process."""
    with _ACCOUNTS_LOCK:
        return _ACCOUNTS.setdefault(account, OrderLimits())


def reset_limits() -> None:
    """Forget every account's counts (tests that start many venues in one process)."""
    with _ACCOUNTS_LOCK:
        _ACCOUNTS.clear()
