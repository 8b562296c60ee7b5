"""Latency recording for the benchmarks: an HdrHistogram in microseconds, summarised in ms.

Values from 1 µs to 60 s at three significant digits; a value outside that range is
clamped (and counted), so one wild sample never aborts a run.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

__all__ = ["LatencyRecorder", "PERCENTILES", "CURVE_PERCENTILES"]

_LOWEST_US = 1
_HIGHEST_US = 60_000_000
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p90", 90.0),
    ("p99", 99.0),
    ("p99_9", 99.9),
)
# Points of the latency-by-percentile curve the plots draw (evenly spaced in "nines").
CURVE_PERCENTILES: tuple[float, ...] = tuple(
    round(100.0 * (1.0 - 10 ** (-k / 8)), 4) for k in range(33)
)


class LatencyRecorder:
    """One latency distribution (e.g. tick → fill)."""

    __slots__ = ("_hist", "clamped", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._hist = HdrHistogram(_LOWEST_US, _HIGHEST_US, 3)
        self.clamped = 0

    def record_ns(self, delta_ns: int) -> None:
        us = delta_ns // 1000
        if us < _LOWEST_US or us > _HIGHEST_US:
            self.clamped += 1
            us = min(max(us, _LOWEST_US), _HIGHEST_US)
        self._hist.record_value(us)

    @property
    def count(self) -> int:
        return int(self._hist.get_total_count())

    def percentile_ms(self, percentile: float) -> float:
        if not self.count:
            return 0.0
        return round(int(self._hist.get_value_at_percentile(percentile)) / 1000.0, 3)

    def summary(self) -> dict[str, Any]:
        """`{"count", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms"}`."""
        out: dict[str, Any] = {"count": self.count}
        for label, pct in PERCENTILES:
            out[f"{label}_ms"] = self.percentile_ms(pct)
        out["max_ms"] = round(int(self._hist.get_max_value()) / 1000.0, 3) if self.count else 0.0
        if self.clamped:
            out["clamped"] = self.clamped
        return out

    def curve(self) -> list[tuple[float, float]]:
        """(percentile, ms) pairs for a latency-by-percentile plot."""
        if not self.count:
            return []
        return [(p, self.percentile_ms(p)) for p in CURVE_PERCENTILES]
