"""Jittered exponential backoff between restarts (Akka's BackoffSupervisor formula)."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "backoff_delay"]


def backoff_delay(
    n: int, min_s: float, max_s: float, jitter: float, rng: random.Random | None = None
) -> float:
    """Delay before restart number `n` (0-based): `min(max, min·2ⁿ)·(1 + U·jitter)`, U∈[0,1)."""
    if n < 0:
        raise ValueError(f"restart number must be >= 0, got {n}")
    base = min(max_s, min_s * (2.0 ** min(n, 62)))
    u = (rng or random).random()
    return base * (1.0 + u * jitter)


@dataclass(frozen=True, slots=True)
class Backoff:
    min_s: float = 0.1
    max_s: float = 10.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.min_s < 0 or self.max_s < self.min_s or self.jitter < 0:
            raise ValueError(
                f"invalid backoff (min_s={self.min_s}, max_s={self.max_s}, jitter={self.jitter}): "
                "need 0 <= min_s <= max_s and jitter >= 0"
            )

    def delay(self, n: int, rng: random.Random | None = None) -> float:
        return backoff_delay(n, self.min_s, self.max_s, self.jitter, rng)

    def bounds(self, n: int) -> tuple[float, float]:
        base = min(self.max_s, self.min_s * (2.0 ** min(n, 62)))
        return base, base * (1.0 + self.jitter)
