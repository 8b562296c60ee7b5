"""The figures of each page and API answer, gathered from the backend: one function per
view, shared by the JSON API and the pages so both always agree."""

from __future__ import annotations

import asyncio
from typing import Any

from schemas.names import Broker
from web import views
from web.context import WebContext

__all__ = [
    "overview",
    "tree",
    "portfolio",
    "orders",
    "strategies",
    "dead_letters",
    "bridge",
    "running_brokers",
    "BLOTTER_EVENTS",
]

BLOTTER_EVENTS = ("submitted", "accepted", "filled", "failed", "cancelled")


async def running_brokers(web: WebContext) -> list[str]:
    return views.brokers_running(await web.backend.status())


async def overview(web: WebContext) -> dict[str, Any]:
    replies = await web.backend.status()
    brokers = views.brokers_running(replies)
    snaps = await asyncio.gather(*(web.backend.portfolio(b) for b in brokers))  # type: ignore[arg-type]
    out = views.overview(replies, dict(zip(brokers, snaps, strict=True)))
    out["control_enabled"] = web.control_enabled
    return out


async def tree(web: WebContext) -> dict[str, Any]:
    replies = await web.backend.status()
    return {"processes": len(replies), "rows": views.tree_rows(replies)}


def _by_strategy(snap: dict[str, Any]) -> list[dict[str, Any]]:
    groups = []
    for s in snap.get("strategies") or ():
        sid = s.get("strategy_id", "")
        rows = [p for p in snap.get("strategy_positions") or () if p.get("strategy_id") == sid]
        groups.append({**s, "positions": rows})
    return groups


async def portfolio(web: WebContext, broker: Broker) -> dict[str, Any]:
    snap = await web.backend.portfolio(broker)
    if snap is None:
        return {
            "broker": broker,
            "available": False,
            "reason": f"no portfolio actor of {broker} answered (starting, or a standby)",
        }
    positions = [
        p
        for p in snap.get("positions") or ()
        if p.get("quantity") or str(p.get("realized_pnl", "0")) not in ("0", "0.00")
    ]
    positions.sort(key=lambda p: str(p.get("symbol") or p.get("instrument_token")))
    return {
        "broker": broker,
        "available": True,
        **{
            k: snap.get(k)
            for k in (
                "cash",
                "realized_pnl",
                "unrealized_pnl",
                "charges",
                "equity",
                "turnover",
                "fills",
                "as_of_ns",
            )
        },
        "positions": positions,
        "strategies": _by_strategy(snap),
    }


_FACTS = ("strategy_id", "symbol", "side")


def _with_order_facts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event with its order's strategy, symbol and side, which only some events
    carry (an acceptance names the order alone), so filters and the eye find them all."""
    facts: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.get("event") == "submitted":
            facts[str(row.get("client_order_id"))] = {k: row.get(k) for k in _FACTS}
    out = []
    for row in rows:
        known = facts.get(str(row.get("client_order_id")), {})
        out.append(
            {
                **{k: v for k, v in known.items() if v},
                **{k: v for k, v in row.items() if v not in (None, "")},
            }
        )
    return out


async def orders(
    web: WebContext, broker: Broker, limit: int, **filters: str | None
) -> dict[str, Any]:
    rows = _with_order_facts(await web.backend.orders(broker, 500))
    shown = views.filter_orders(rows, **filters)[:limit]
    return {
        "broker": broker,
        "filters": {k: v for k, v in filters.items() if v},
        "count": len(shown),
        "rows": shown,
    }


async def strategies(web: WebContext) -> dict[str, Any]:
    replies = await web.backend.status()
    return {"strategies": views.strategy_rows(web.strategies, replies)}


async def dead_letters(web: WebContext, limit: int) -> dict[str, Any]:
    rows = await web.backend.dead_letters(limit)
    return {"count": len(rows), "rows": rows, "control_enabled": web.control_enabled}


async def bridge(web: WebContext) -> dict[str, Any]:
    return views.bridge_status(await web.backend.status())
