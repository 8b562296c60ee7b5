"""`alpha-panda portfolio [--broker B] [--by instrument|strategy] [--json]`: positions and PnL
from the running system, per instrument (summed over strategies) or per strategy."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

import msgspec

from ops.commands.common import NatsTarget, nats_target, run_async
from ops.settings import load_settings
from schemas.events import PnlSnapshot, PositionView
from schemas.names import BROKERS, parse_broker, portfolio_request_subject

__all__ = ["register", "render_portfolio", "running_brokers"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("portfolio", help="print positions and PnL of a broker")
    p.add_argument("--broker", choices=BROKERS, default="paper")
    p.add_argument(
        "--by",
        choices=("instrument", "strategy"),
        default="instrument",
        help="one row per instrument (all strategies summed) or per strategy and instrument",
    )
    p.add_argument("--json", action="store_true", help="print the PnL snapshot as JSON")
    p.set_defaults(func=_portfolio)


async def _fetch(target: NatsTarget, broker: str) -> bytes:
    bus = await target.connect("alpha-panda:portfolio")
    try:
        reply = await bus.request(portfolio_request_subject(parse_broker(broker)), b"", timeout_s=3)
    finally:
        await bus.close()
    return bytes(reply.data)


def running_brokers(replies: list[dict[str, Any]]) -> list[str]:
    """The brokers the answering processes run: their settings and their pipelines."""
    found: dict[str, None] = {}
    for reply in replies:
        for broker in (reply.get("process") or {}).get("brokers") or []:
            found[str(broker)] = None
        for broker in reply.get("pipeline") or {}:
            if broker in BROKERS:
                found[broker] = None
    return list(found)


async def _why_no_answer(target: NatsTarget, broker: str, exc: Exception) -> str:
    """Tell a broker that does not run here from a system that does not run at all."""
    from ops.commands.status import fetch_status

    try:
        replies = await fetch_status(target, window_s=1.0)
    except Exception:
        replies = []
    if replies:
        running = running_brokers(replies)
        if broker not in running:
            return (
                f"broker {broker} is not running in this system (running: "
                f"{', '.join(running) or 'none'}); add it to ALPHA_PANDA_BROKERS to trade it"
            )
        return (
            f"the portfolio of {broker} did not answer on {target.shown} "
            f"({type(exc).__name__}): it may be starting, or a standby; see `alpha-panda status`"
        )
    return (
        f"no portfolio actor for {broker} answered on {target.shown} "
        f"({type(exc).__name__}); is `alpha-panda up` running?"
    )


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def _row(p: PositionView) -> str:
    last = _money(p.last_price) if p.marked else "-"
    return (
        f"{(p.symbol or '-'):<12}{p.instrument_token:>9}{p.quantity:>8}"
        f"{_money(p.average_price):>13}{last:>11}"
        f"{_money(p.unrealized_pnl):>14}{_money(p.realized_pnl):>13}"
        f"{_money(p.charges):>11}{p.fills:>7}"
    )


_HEAD = (f"{'symbol':<12}{'token':>9}{'qty':>8}{'avg price':>13}{'last':>11}"
         f"{'unrealized':>14}{'realized':>13}{'charges':>11}{'fills':>7}")  # fmt: skip


def _shown(positions: list[PositionView]) -> list[PositionView]:
    key = lambda p: p.symbol or str(p.instrument_token)  # noqa: E731
    return sorted((p for p in positions if p.quantity or p.realized_pnl), key=key)


def render_portfolio(broker: str, snap: PnlSnapshot, by: str = "instrument") -> str:
    """The snapshot as a table; `by` "strategy" groups the rows by strategy with a summary
    line each. A position not yet marked by a tick shows "-" as its last price."""
    lines = [_HEAD]
    if by == "strategy":
        for s in snap.strategies:
            lines.append(
                f"strategy {s.strategy_id or '-'}: realized {_money(s.realized_pnl)}  "
                f"unrealized {_money(s.unrealized_pnl)}  charges {_money(s.charges)}  "
                f"turnover {_money(s.turnover)}  fills {s.fills}  open {s.open_positions}"
            )
            mine = [p for p in snap.strategy_positions if p.strategy_id == s.strategy_id]
            lines.extend("  " + _row(p) for p in _shown(mine))
    else:
        lines.extend(_row(p) for p in _shown(snap.positions))
    lines.append(
        f"{broker}: cash {_money(snap.cash)}  realized {_money(snap.realized_pnl)}  "
        f"unrealized {_money(snap.unrealized_pnl)}  charges {_money(snap.charges)}  "
        f"equity {_money(snap.equity)}  turnover {_money(snap.turnover)}  fills {snap.fills}"
    )
    return "\n".join(lines)


def _portfolio(args: argparse.Namespace) -> int:
    target = nats_target(load_settings())
    try:
        raw = run_async(_fetch(target, args.broker))
    except Exception as exc:
        print(f"alpha-panda: {run_async(_why_no_answer(target, args.broker, exc))}")
        return 1
    if args.json:
        data: Any = json.loads(raw)
        print(json.dumps(data, indent=2))
        return 0
    snap = msgspec.json.decode(raw, type=PnlSnapshot)
    print(render_portfolio(args.broker, snap, args.by))
    return 0
