"""Pure shaping of the running system's replies into what a page or the API shows.

No I/O here: `alpha.status` replies (one per process) and portfolio snapshots in, plain
dicts out, so the pages, the API and the tests all read one shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from schemas.names import BROKERS

__all__ = [
    "walk",
    "brokers_running",
    "overview",
    "tree_rows",
    "bridge_status",
    "strategy_rows",
    "filter_orders",
]

#: the figures of an actor that tell whether a stage keeps up
_STAGE_KEYS = (
    "mailbox_depth",
    "mailbox_size",
    "consumer_pending",
    "processed",
    "outputs",
    "failed",
    "dead_lettered",
    "invalid",
)


def walk(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every node of a status tree with its depth, parents first."""
    yield depth, node
    for child in node.get("children") or ():
        yield from walk(child, depth + 1)


def brokers_running(replies: Sequence[dict[str, Any]]) -> list[str]:
    """The brokers some process trades (in the order of DESIGN's broker list)."""
    named = {b for r in replies for b in (r.get("process", {}).get("brokers") or ())}
    named |= {b for r in replies for b in (r.get("pipeline") or {}) if b in BROKERS}
    return [b for b in BROKERS if b in named]


def _stages(replies: Sequence[dict[str, Any]], broker: str) -> list[dict[str, Any]]:
    out = []
    for r in replies:
        tree = r.get("tree")
        if not tree:
            continue
        for _, node in walk(tree):
            if node.get("kind") == "supervisor" or node.get("broker") != broker:
                continue
            stage = {
                "name": node.get("name"),
                "state": node.get("state"),
                "restarts": node.get("restarts", 0),
                "last_error": node.get("last_error"),
            }
            stage.update({k: node.get(k, 0) for k in _STAGE_KEYS})
            stage["healthy"] = node.get("state") in ("running", "standby") and not node.get(
                "last_error"
            )
            out.append(stage)
    return out


def _session(replies: Sequence[dict[str, Any]], broker: str) -> dict[str, Any] | None:
    """A broker's session figures (zerodha's session watcher reports them), if any."""
    for r in replies:
        tree = r.get("tree")
        for _, node in walk(tree) if tree else ():
            if node.get("broker") == broker and isinstance(node.get("session"), dict):
                found: dict[str, Any] = node["session"]
                return found
    return None


def _merged_pipeline(replies: Sequence[dict[str, Any]], broker: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for r in replies:
        merged.update((r.get("pipeline") or {}).get(broker) or {})
    return merged


def overview(
    replies: Sequence[dict[str, Any]], portfolios: dict[str, dict[str, Any] | None]
) -> dict[str, Any]:
    """Per broker: trading state, flow figures, PnL, stage health; the drift when present."""
    brokers = []
    market = _merged_pipeline(replies, "market")
    for b in brokers_running(replies):
        fig = _merged_pipeline(replies, b)
        snap = portfolios.get(b) or {}
        brokers.append(
            {
                "broker": b,
                "trading_state": fig.get("trading_state", "UNKNOWN"),
                "ticks": fig.get("ticks", market.get("ticks", 0)),
                "ticks_per_s": fig.get("ticks_per_s", 0),
                "signals": fig.get("signals", 0),
                "validated": fig.get("validated", 0),
                "rejected": fig.get("rejected", 0),
                "rejections": fig.get("rejections") or {},
                "orders": fig.get("orders", 0),
                "fills": fig.get("fills", 0),
                "orders_failed": fig.get("orders_failed", 0),
                "open_orders": fig.get("open_orders", 0),
                "realized_pnl": snap.get("realized_pnl", fig.get("realized_pnl", "0")),
                "unrealized_pnl": snap.get("unrealized_pnl", fig.get("unrealized_pnl", "0")),
                "charges": snap.get("charges", fig.get("charges", "0")),
                "equity": snap.get("equity", fig.get("equity")),
                "cash": snap.get("cash"),
                "open_positions": fig.get("open_positions", 0),
                "session": fig.get("session") or _session(replies, b),
                "stages": _stages(replies, b),
            }
        )
    drift = next((r["drift"] for r in replies if r.get("drift")), None)
    processes = [
        {k: r.get("process", {}).get(k) for k in ("pid", "host", "roles", "env", "uptime_s")}
        for r in replies
    ]
    return {"brokers": brokers, "market": market, "drift": drift, "processes": processes}


def tree_rows(replies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The supervision trees, flattened with depth: one row per supervisor or actor."""
    rows = []
    for r in replies:
        tree = r.get("tree")
        if not tree:
            continue
        pid = r.get("process", {}).get("pid")
        for depth, node in walk(tree):
            rows.append(
                {
                    "pid": pid,
                    "depth": depth,
                    "name": node.get("name"),
                    "kind": node.get("kind"),
                    "broker": node.get("broker"),
                    "state": node.get("state"),
                    "restarts": node.get("restarts", 0),
                    "strategy": node.get("strategy"),
                    "last_error": node.get("last_error"),
                    "last_error_at": node.get("last_error_at"),
                    "mailbox_depth": node.get("mailbox_depth"),
                    "mailbox_size": node.get("mailbox_size"),
                    "consumer_pending": node.get("consumer_pending"),
                    "processed": node.get("processed"),
                    "lease_held": (node.get("lease") or {}).get("held"),
                }
            )
    return rows


def bridge_status(replies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The bridge node's figures, or `running` False with the reason it is off."""
    for r in replies:
        tree = r.get("tree")
        for _, node in walk(tree) if tree else ():
            if node.get("name") == "bridge" and node.get("kind") != "supervisor":
                keep = (
                    "state",
                    "healthy",
                    "last_error",
                    "resets",
                    "kafka",
                    "codec",
                    "streams",
                    "unbound_streams",
                    "queued",
                    "inbox",
                    "restarts",
                )
                return {"running": True, **{k: node.get(k) for k in keep}}
    return {
        "running": False,
        "reason": "no bridge runs: set KAFKA_BOOTSTRAP_SERVERS to mirror the streams to Kafka",
    }


def strategy_rows(
    configs: Sequence[dict[str, Any]], replies: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each configured strategy with its parameters and, per broker, its live figures."""
    live: dict[str, dict[str, Any]] = {}
    for b in brokers_running(replies):
        for sid, fig in (_merged_pipeline(replies, b).get("strategies") or {}).items():
            live.setdefault(sid, {})[b] = fig
    return [{**c, "live": live.get(str(c.get("id")), {})} for c in configs]


def filter_orders(
    rows: Sequence[dict[str, Any]],
    *,
    event: str | None = None,
    strategy: str | None = None,
    symbol: str | None = None,
    side: str | None = None,
) -> list[dict[str, Any]]:
    """The blotter rows matching every filter given (case-insensitive on symbol)."""
    out = []
    for row in rows:
        if event and row.get("event") != event:
            continue
        if strategy and row.get("strategy_id") != strategy:
            continue
        if symbol and str(row.get("symbol") or "").lower() != symbol.lower():
            continue
        if side and str(row.get("side") or "").lower() != side.lower():
            continue
        out.append(row)
    return out
