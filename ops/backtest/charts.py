"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend (no display).

Figures are built with the object API (no pyplot), so drawing keeps no global state and is
safe from any thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from ops.backtest.ist import IST
from ops.backtest.metrics import drawdown_series
from ops.backtest.results import EquityPoint

__all__ = ["equity_chart", "strategies_chart"]

_DPI = 100
_EQUITY_COLOR, _DRAWDOWN_COLOR = "#1f5fa8", "#c0392b"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def _times(ts_ns: Sequence[int]) -> npt.NDArray[np.datetime64]:
    # UTC instants; the axis locator and formatter show them in IST
    return np.asarray(ts_ns, dtype="datetime64[ns]")


def _time_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(tz=IST)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=IST))  # type: ignore[no-untyped-call]


def _rupee_axis(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.grid(True, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def _line(
    ax: Axes, points: Sequence[EquityPoint], width: float, color: str | None = None,
    label: str | None = None,
) -> None:  # fmt: skip
    ordered = sorted(points, key=lambda p: p.ts_ns)
    marker = "o" if len(ordered) == 1 else None  # one point is no line: show it as a dot
    times, values = _times([p.ts_ns for p in ordered]), [float(p.equity) for p in ordered]
    ax.plot(times, values, marker=marker, color=color, linewidth=width, label=label)


def equity_chart(points: Sequence[EquityPoint], title: str = "Total equity (₹)") -> bytes:
    """Two panels: the equity curve above, its drawdown from the running peak below."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    top.set_title(title, loc="left", fontsize=12)
    bottom.set_title("Drawdown from the running peak", loc="left", fontsize=10)
    if not points:
        _nothing(top, "no equity points")
        _nothing(bottom, "no drawdown")
        return _png(fig)
    _line(top, points, 1.6, color=_EQUITY_COLOR)
    _rupee_axis(top)
    series = drawdown_series(points)
    times = _times([ts for ts, _ in series])
    depths = [d for _, d in series]
    bottom.fill_between(times, depths, 0.0, color=_DRAWDOWN_COLOR, alpha=0.35, linewidth=0)
    bottom.plot(times, depths, color=_DRAWDOWN_COLOR, linewidth=1.0)
    bottom.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))  # from the range
    bottom.set_ylim(top=0.0)
    bottom.grid(True, color="#dddddd", linewidth=0.8)
    _time_axis(bottom)
    return _png(fig)


def strategies_chart(curves: Mapping[str, Sequence[EquityPoint]]) -> bytes:
    """Every strategy's equity curve on one chart, with a legend."""
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    ax.set_title("Equity by strategy (₹)", loc="left", fontsize=12)
    drawn = {name: pts for name, pts in curves.items() if pts}
    if not drawn:
        _nothing(ax, "no strategy equity series")
        return _png(fig)
    for name, pts in sorted(drawn.items()):
        _line(ax, pts, 1.4, label=name)
    _rupee_axis(ax)
    _time_axis(ax)
    ax.legend(loc="best", fontsize=9, frameon=False)
    return _png(fig)
