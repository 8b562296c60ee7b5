"""What `alpha-panda up` says while it runs: one summary line per broker every interval,
and a final summary (per broker, then per strategy) when it stops.

The figures come from the tree running in this process (`root.status()` merged by
`pipeline_figures`), not from a second trip over NATS, so the console costs a walk of the
tree and nothing on the bus. Lines go to stdout; the logs stay on stderr.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from ops.figures import count, money, signed_money
from supervisors.launcher import pipeline_figures
from supervisors.status import StatusNode

__all__ = ["ConsoleSummary", "broker_line", "final_summary"]

_MARKET = "market"  # the shared figures (the feed), not a broker


def _brokers(tree: StatusNode) -> dict[str, dict[str, Any]]:
    return {b: f for b, f in pipeline_figures(tree).items() if b != _MARKET}


def _int(fig: Mapping[str, Any], key: str) -> int:
    value = fig.get(key, 0)
    return value if isinstance(value, int) else 0


def broker_line(broker: str, fig: Mapping[str, Any], ticks_per_s: float | None) -> str:
    """One compact line: trading state, ticks/s, signals, rejections, fills, PnL."""
    rate = f"{ticks_per_s:,.1f}" if ticks_per_s is not None else "-"
    state = fig.get("trading_state", "?")
    return (
        f"{broker} {state}: ticks/s {rate}  signals {count(_int(fig, 'signals'))}  "
        f"rejections {count(_int(fig, 'rejected'))}  fills {count(_int(fig, 'fills'))}  "
        f"realized {signed_money(fig.get('realized_pnl', 0))}  "
        f"unrealized {signed_money(fig.get('unrealized_pnl', 0))}"
    )


def final_summary(tree: StatusNode, elapsed_s: float) -> list[str]:
    """The figures of the whole run, per broker and per strategy."""
    brokers = _brokers(tree)
    market = pipeline_figures(tree).get(_MARKET, {})
    lines = [f"final summary after {elapsed_s:,.1f}s"]
    if market:
        lines.append(
            f"  market: ticks published {count(_int(market, 'ticks'))}  "
            f"invalid {count(_int(market, 'invalid_ticks'))}"
        )
    if not brokers:
        lines.append("  no broker ran in this process")
    for broker, fig in brokers.items():
        reasons = fig.get("rejections") or {}
        why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        lines.append(
            f"  {broker} {fig.get('trading_state', '?')}: ticks {count(_int(fig, 'ticks'))}  "
            f"signals {count(_int(fig, 'signals'))}  "
            f"rejections {count(_int(fig, 'rejected'))}" + (f" ({why})" if why else "")
            + f"  orders {count(_int(fig, 'orders'))}  fills {count(_int(fig, 'fills'))}  "
            f"realized {signed_money(fig.get('realized_pnl', 0))}  "
            f"unrealized {signed_money(fig.get('unrealized_pnl', 0))}  "
            f"charges {money(fig.get('charges', 0))}  "
            f"open positions {count(_int(fig, 'open_positions'))}"
        )  # fmt: skip
        for sid, s in sorted((fig.get("strategies") or {}).items()):
            lines.append(
                f"    strategy {sid}: fills {count(s.get('fills', 0))}  "
                f"realized {signed_money(s.get('realized_pnl', 0))}  "
                f"unrealized {signed_money(s.get('unrealized_pnl', 0))}  "
                f"charges {money(s.get('charges', 0))}"
            )
    return lines


class ConsoleSummary:
    """The console of `up`: a `TreeWatcher` of the launcher.

    `interval_s` None prints no periodic lines (`--quiet`); the final summary is printed
    either way, since a person who ran `up` wants to know what the run did.
    """

    def __init__(
        self,
        interval_s: float | None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s is not None and interval_s <= 0:
            raise ValueError(f"summary interval must be > 0 seconds, got {interval_s}")
        self.interval_s = interval_s
        self._out = out
        self._clock = clock
        self._started = clock()
        self._last: dict[str, tuple[float, int]] = {}  # broker -> (when, ticks)

    def _print(self, lines: list[str]) -> None:
        out = self._out or sys.stdout
        for line in lines:
            print(line, file=out)
        out.flush()

    def lines(self, tree: StatusNode) -> list[str]:
        """This interval's line per broker; ticks/s over the time since the last call."""
        now = self._clock()
        out = []
        for broker, fig in _brokers(tree).items():
            ticks = _int(fig, "ticks")
            before = self._last.get(broker, (self._started, 0))  # counts start at 0
            rate = None
            if now > before[0]:
                rate = max(0, ticks - before[1]) / (now - before[0])
            self._last[broker] = (now, ticks)
            out.append(f"{time.strftime('%H:%M:%S')} {broker_line(broker, fig, rate)}")
        return out

    async def watch(self, status: Callable[[], StatusNode]) -> None:
        self._started = self._clock()
        if self.interval_s is None:
            return
        while True:
            await asyncio.sleep(self.interval_s)
            self._print(self.lines(status()))

    def stopped(self, final: StatusNode) -> None:
        self._print(final_summary(final, self._clock() - self._started))
