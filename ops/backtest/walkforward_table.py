"""A walk-forward's tables: printed (one per window, then the aggregate out-of-sample) and
written (walk_forward.csv: a row per window and sample, then the aggregate;
walk_forward.json: every window with its whole in-sample ranking)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ops.backtest.errors import SweepError
from ops.backtest.grid import Grid
from ops.backtest.ranking import Metric, SweepRow, order_text, row_scalars, table_text
from ops.backtest.walkforward import WalkForward

__all__ = ["walk_forward_text", "write_walk_forward"]


def walk_forward_text(wf: WalkForward, by: Metric, grid: Grid) -> str:
    """One table per window (in-sample, out-of-sample) and the aggregate out-of-sample."""
    parts: list[str] = []
    for w in wf.windows:
        win = w.window
        if len(grid.points) > 1:
            choice = f"{w.chosen.point}, chosen by {order_text(by)} of {len(w.in_sample)}"
            if by.value(w.chosen.figures) is None:
                choice += f" (no point has a {by.name} in-sample: the grid's first is taken)"
        else:
            choice = f"parameters {w.chosen.point}"
        parts.append(
            f"window {win.number}: in-sample {_days(win.in_days)}, out-of-sample "
            f"{_days(win.out_days)}; {choice}\n"
        )
        rows = [_relabel(w.chosen, "in-sample"), _relabel(w.out_of_sample, "out-of-sample")]
        parts.append(table_text(rows, first="Sample", numbered=False) + "\n")
    parts.append(f"aggregate out-of-sample, {len(wf.windows)} windows chained:\n")
    parts.append(table_text([_relabel(wf.aggregate, "out-of-sample")], first="Sample",
                            numbered=False))  # fmt: skip
    return "".join(parts)


def _relabel(row: SweepRow, label: str) -> SweepRow:
    return SweepRow(index=row.index, point=label, params=row.params, figures=row.figures)


def _days(days: tuple[Any, ...]) -> str:
    n = len(days)
    return f"{days[0]} to {days[-1]} ({n} days)" if n > 1 else f"{days[0]} (1 day)"


def write_walk_forward(wf: WalkForward, out: Path, by: Metric, *, keys: list[str]) -> Path:
    """walk_forward.json (every window, its in-sample ranking, the aggregate) and
    walk_forward.csv (a row per window and sample, then the aggregate)."""
    lines: list[dict[str, Any]] = []
    windows = []
    for w in wf.windows:
        win = w.window
        for sample, row, days in (("in", w.chosen, win.in_days), ("out", w.out_of_sample,
                                                                  win.out_days)):  # fmt: skip
            lines.append({"window": win.number, "sample": sample, "from": str(days[0]),
                          "to": str(days[-1]), "days": len(days), "point": row.point,
                          "params": row.params, **row_scalars(row)})  # fmt: skip
        windows.append({
            "window": win.number,
            "in_sample_days": [str(d) for d in win.in_days],
            "out_of_sample_days": [str(d) for d in win.out_days],
            "chosen": w.chosen.point, "params": w.chosen.params,
            "in_sample": [{"rank": n, "point": r.point, "params": r.params, **row_scalars(r)}
                          for n, r in enumerate(w.in_sample, start=1)],
            "out_of_sample": row_scalars(w.out_of_sample),
        })  # fmt: skip
    first, last = wf.windows[0].window.out_days[0], wf.windows[-1].window.out_days[-1]
    out_days = sum(len(w.window.out_days) for w in wf.windows)
    lines.append({"window": "all", "sample": "out", "from": str(first), "to": str(last),
                  "days": out_days, "point": "aggregate", "params": {},
                  **row_scalars(wf.aggregate)})  # fmt: skip
    document = {
        "format": 1, "sort": by.name, "best": f"{by.best}est first", "keys": keys,
        "windows": windows, "aggregate_out_of_sample": row_scalars(wf.aggregate),
    }  # fmt: skip
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "walk_forward.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        path = out / "walk_forward.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            fixed = ["window", "sample", "from", "to", "days", "point"]
            figures = [k for k in lines[0] if k not in (*fixed, "params")]
            writer = csv.writer(f)
            writer.writerow([*fixed, *keys, *figures])
            for line in lines:
                writer.writerow([*(line[k] for k in fixed), *(line["params"].get(k, "")
                                 for k in keys), *("" if line[k] is None else line[k]
                                                   for k in figures)])  # fmt: skip
    except OSError as exc:
        raise SweepError(f"cannot write to {out}: {exc.strerror or exc}; pass --out a "
                         "directory you can write to") from None  # fmt: skip
    return path
