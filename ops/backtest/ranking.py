"""A sweep's results table: one row of the account's figures per grid point, ranked.

The figures are the report's (`summary.summarise`, the "total" row): nothing is computed
twice. A row ranks by one metric, best first in that metric's direction (the deepest
drawdown is the worst, so `max_drawdown`, a fraction ≤ 0, ranks the shallowest first); an
undefined figure ("n/a") ranks after every defined one, and ties keep the grid's order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from ops.backtest.errors import SweepError
from ops.backtest.export import figures_dict
from ops.backtest.summary import Figures
from ops.backtest.tables import CONSOLE, cells

__all__ = [
    "Metric",
    "METRICS",
    "SweepRow",
    "metric",
    "order_text",
    "rank",
    "row_scalars",
    "table_text",
    "write_results",
]

RESULTS_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Metric:
    """A figure a sweep can rank by, and which way is better."""

    name: str
    best: Literal["high", "low"]
    value: Callable[[Figures], float | Decimal | int | None]
    meaning: str


def _dd_days(f: Figures) -> float | None:
    dd = f.curve.drawdown
    if dd is None:
        return None if f.curve.max_drawdown is None else 0.0
    return dd.duration_days


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("sharpe", "high", lambda f: f.curve.sharpe, "annualised Sharpe ratio"),
        Metric("sortino", "high", lambda f: f.curve.sortino, "annualised Sortino ratio"),
        Metric("total_return", "high", lambda f: f.curve.total_return, "return over the run"),
        Metric("annualised_return", "high", lambda f: f.curve.annualised_return, "per year"),
        Metric("net_pnl", "high", lambda f: f.curve.net_pnl, "net profit in rupees"),
        # a fraction <= 0: the highest is the shallowest, the best
        Metric("max_drawdown", "high", lambda f: f.curve.max_drawdown, "deepest fall"),
        Metric("drawdown_days", "low", _dd_days, "length of the deepest drawdown"),
        Metric("profit_factor", "high", lambda f: f.trades.profit_factor, "profit / loss"),
        Metric("win_rate", "high", lambda f: f.trades.win_rate, "winning trades' share"),
        Metric("trades", "high", lambda f: f.trades.trades, "closing fills"),
        Metric("charges", "low", lambda f: f.trades.charges, "charges paid"),
    )
}


def metric(name: str) -> Metric:
    """The metric called `name`; an unknown one lists the others."""
    try:
        return METRICS[name]
    except KeyError:
        raise SweepError(
            f"--sort {name!r} is not a metric; use one of {', '.join(METRICS)}"
        ) from None


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One grid point's run: its position in the grid, its values and the account's figures."""

    index: int
    point: str
    params: dict[str, str]
    figures: Figures


def rank(rows: Sequence[SweepRow], by: Metric) -> list[SweepRow]:
    """Best first by `by`; undefined values last; ties in grid order."""

    def key(row: SweepRow) -> tuple[int, float, int]:
        value = by.value(row.figures)
        if value is None:
            return (1, 0.0, row.index)
        return (0, -float(value) if by.best == "high" else float(value), row.index)

    return sorted(rows, key=key)


def order_text(by: Metric) -> str:
    """`sharpe (highest first)`"""
    return f"{by.name} ({by.best}est first)"


def row_scalars(row: SweepRow) -> dict[str, Any]:
    """The row's figures as report.json writes them, nested ones left out."""
    return {k: v for k, v in figures_dict(row.figures).items() if not isinstance(v, dict)}


def write_results(
    rows: Sequence[SweepRow],
    out_dir: Path,
    by: Metric,
    *,
    keys: Sequence[str],
    skipped: Sequence[tuple[str, str]] = (),
    extra: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """results.csv and results.json in `out_dir`: the ranked rows (as `rank` orders them)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(
            f"cannot create {out_dir}: {exc.strerror or exc}; pass --out a directory you "
            "can write to"
        ) from None
    records = [
        {"rank": n, "point": r.point, "params": dict(r.params), **row_scalars(r)}
        for n, r in enumerate(rows, start=1)
    ]
    document = {
        "format": RESULTS_FORMAT,
        "sort": by.name,
        "best": f"{by.best}est first; undefined last",
        "keys": list(keys),
        **(extra or {}),
        "rows": records,
        "skipped": [{"point": p, "why": why} for p, why in skipped],
    }
    json_path, csv_path = out_dir / "results.json", out_dir / "results.csv"
    json_path.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    figures = [k for k in records[0] if k not in ("rank", "point", "params")] if records else []
    with csv_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["rank", "point", *keys, *figures])
        for rec in records:
            writer.writerow(
                [rec["rank"], rec["point"], *(rec["params"].get(k, "") for k in keys),
                 *("" if rec[k] is None else rec[k] for k in figures)]
            )  # fmt: skip
    return csv_path, json_path


def table_text(
    rows: Sequence[SweepRow], *, first: str = "Point", top: int | None = None, numbered: bool = True
) -> str:
    """Fixed-width text of `rows` (the first `top`), with the report's console columns."""
    shown = list(rows)[:top] if top is not None else list(rows)
    figures = cells([r.figures for r in shown], CONSOLE)
    body = [
        [*([str(n)] if numbered else []), row.point, *(c.text for c in row_cells)]
        for n, (row, (_, row_cells)) in enumerate(zip(shown, figures, strict=True), start=1)
    ]
    headers = [*(["#"] if numbered else []), first, *(c.header for c in CONSOLE)]
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]
    left = 1 if numbered else 0

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(headers), "-" * len(line(headers)), *map(line, body)]) + "\n"
