"""A small progress bar for long commands (stderr, redrawn at most ten times a second)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """`update(n)` as work is done, `close()` at the end; silent when not enabled."""

    def __init__(
        self, label: str, total: int, *, enabled: bool = True, out: TextIO | None = None
    ) -> None:
        self.label = label
        self.total = max(0, total)
        self.done = 0
        self.out = out or sys.stderr
        self.enabled = enabled
        self._started = time.monotonic()
        self._drawn = 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(now)

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.out.write("\n")
            self.out.flush()

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._started, 1e-6)
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(frac * 30)
            line = f"{self.label} [{bar:<30}] {frac:4.0%} {self.done}/{self.total} {rate:,.0f}/s"
        else:
            line = f"{self.label} {self.done} {rate:,.0f}/s"
        self.out.write("\r" + line)
        self.out.flush()
