"""Where time and ids come from: injected, so the same trading code runs live and in a backtest.

At runtime the clock is the wall clock and ids are monotonic ULIDs (`schemas.ids`). A
backtest gives the desks a `SimClock`, set to the event time of the tick being processed,
and `SeededIds`: ULID-shaped ids (26 Crockford characters, sorting in creation order) made
from a seed and a counter, so the same run yields the same ids byte for byte.
"""

from __future__ import annotations

import time
from typing import Final, Protocol

from schemas.ids import encode_ulid, generate_event_id

__all__ = [
    "Clock",
    "IdSource",
    "WallClock",
    "UlidIds",
    "SimClock",
    "SeededIds",
    "WALL_CLOCK",
    "ULID_IDS",
]


class Clock(Protocol):
    """The current time, in ns since the epoch."""

    def now_ns(self) -> int: ...


class IdSource(Protocol):
    """New ids, each strictly greater (as a string) than the ones before it."""

    def next_id(self) -> str: ...


class WallClock:
    """The machine's clock (runtime)."""

    __slots__ = ()

    def now_ns(self) -> int:
        return time.time_ns()


class UlidIds:
    """Monotonic ULIDs from the wall clock and random bits (runtime)."""

    __slots__ = ()

    def next_id(self) -> str:
        return generate_event_id()


class SimClock:
    """Simulated time: what the driver last set it to (the event time being processed)."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def set(self, ts_ns: int) -> None:
        """Move to `ts_ns`; time never runs backwards (an older stamp leaves it where it is)."""
        if ts_ns > self._now:
            self._now = ts_ns

    def now_ns(self) -> int:
        return self._now


class SeededIds:
    """Deterministic ULID-shaped ids: the time part from `clock` (ms), then the seed's 16
    bits, then a 64-bit counter. The same seed, clock readings and call order give the
    same ids; within a run they strictly increase, as ULIDs do."""

    __slots__ = ("_clock", "_count", "_seed")

    def __init__(self, seed: int, clock: Clock | None = None) -> None:
        if not 0 <= seed < 1 << 16:
            raise ValueError(f"an id seed is between 0 and 65535, got {seed}")
        self._seed = seed
        self._clock = clock
        self._count = 0

    def next_id(self) -> str:
        self._count += 1
        ms = self._clock.now_ns() // 1_000_000 if self._clock is not None else 0
        return encode_ulid((ms << 80) | (self._seed << 64) | self._count)


WALL_CLOCK: Final[Clock] = WallClock()
ULID_IDS: Final[IdSource] = UlidIds()
