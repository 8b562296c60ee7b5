"""Latency-by-percentile plots as PNG, drawn with matplotlib's Agg backend.

x: percentile on a "nines" scale (0, 90, 99, 99.9, 99.99 %), the way HdrHistogram plots
are read; y: latency in ms on a log scale. One line per series, a legend under the chart
(so it never hides a curve), a title. 960 by 640 pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

__all__ = ["Series", "write_latency_plot"]

_MAX_NINES = 4  # 99.99 %
_SIZE_IN, _DPI = (9.6, 6.4), 100


@dataclass(frozen=True, slots=True)
class Series:
    """A named latency curve: (percentile, ms) points."""

    label: str
    points: Sequence[tuple[float, float]]


def _nines(percentile: float) -> float:
    return min(-math.log10(max(1e-6, 1.0 - percentile / 100.0)), float(_MAX_NINES))


def _nines_label(k: int) -> str:
    return "0%" if k == 0 else f"{100.0 * (1 - 10.0**-k):.{max(0, k - 2)}f}%"


def write_latency_plot(path: Path, title: str, series: Sequence[Series]) -> None:
    """Draw the series on one latency-by-percentile chart and write it as a PNG."""
    fig = Figure(figsize=_SIZE_IN, dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.25, 0.88, 0.67))
    ax.set_title(title, loc="left", fontsize=11)
    drawn = 0
    for s in series:
        pts = [(_nines(p), ms) for p, ms in s.points if ms > 0]
        if pts:
            ax.plot([x for x, _ in pts], [y for _, y in pts], linewidth=2, label=s.label)
            drawn += 1
    ax.set_yscale("log")
    values = [ms for s in series for _, ms in s.points if ms > 0]
    lo = math.floor(math.log10(min(values))) if values else -1
    hi = max(math.ceil(math.log10(max(values))) if values else 2, lo + 1)
    ax.set_ylim(10.0**lo, 10.0**hi)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("ms")
    ax.set_xlim(0, _MAX_NINES)
    ax.set_xticks(range(_MAX_NINES + 1), [_nines_label(k) for k in range(_MAX_NINES + 1)])
    ax.set_xlabel("percentile")
    ax.grid(True, which="major", color="#dddddd", linewidth=0.8)
    ax.grid(True, which="minor", axis="y", color="#f0f0f0", linewidth=0.6)
    ax.set_axisbelow(True)
    if drawn:
        fig.legend(loc="lower left", bbox_to_anchor=(0.08, 0.01), ncols=2, frameon=False,
                   fontsize=9)  # fmt: skip
    else:
        ax.text(0.5, 0.5, "no latency samples", ha="center", va="center",
                transform=ax.transAxes, color="#777777")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=_DPI)
