"""A token bucket on event time (ns), so the same inputs always give the same decisions.

Never the wall clock: a backtest or a replay of a day decides exactly as the live run did.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = ["TokenBucket", "BucketState"]

_NS_PER_S = Decimal(1_000_000_000)


class BucketState(msgspec.Struct, kw_only=True):
    """Tokens held at `last_ns` (None: never used, so full)."""

    tokens: Decimal
    last_ns: int | None = None


class TokenBucket:
    """`burst` tokens at most, refilled at `rate_per_s`; one token per accepted order."""

    def __init__(self, rate_per_s: Decimal, burst: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(
                f"token bucket needs rate_per_s > 0 and burst >= 1, got {rate_per_s}, {burst}"
            )
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._full = Decimal(burst)
        self._state = BucketState(tokens=Decimal(burst))

    def available(self, ts_ns: int) -> Decimal:
        """Tokens at event time `ts_ns`; an earlier time than the last one refills nothing."""
        s = self._state
        if s.last_ns is None or s.tokens >= self._full:
            # never used, or full: the refill below could add nothing (min keeps the burst)
            return self._full
        elapsed = max(0, ts_ns - s.last_ns)
        return min(self._full, s.tokens + elapsed * self.rate_per_s / _NS_PER_S)

    def try_take(self, ts_ns: int, n: int = 1) -> bool:
        tokens = self.available(ts_ns)
        s = self._state  # updated in place: `state()` hands out copies
        s.last_ns = ts_ns if s.last_ns is None else max(ts_ns, s.last_ns)
        if tokens < n:
            s.tokens = tokens
            return False
        s.tokens = tokens - n
        return True

    def state(self) -> BucketState:
        return BucketState(tokens=self._state.tokens, last_ns=self._state.last_ns)

    def restore(self, state: BucketState) -> None:
        self._state = BucketState(
            tokens=min(state.tokens, Decimal(self.burst)), last_ns=state.last_ns
        )
