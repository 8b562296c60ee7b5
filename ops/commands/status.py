"""`alpha-panda status`: the live tree and pipeline figures, from `alpha.status` replies."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ops.commands.common import NatsTarget, nats_target, run_async
from ops.figures import is_money_key, money
from ops.settings import load_settings
from schemas.names import STATUS_SUBJECT
from supervisors.nats_auth import NatsAuth
from supervisors.status import StatusNode

__all__ = [
    "register", "render_tree", "render_process", "render_pipeline", "render_drift",
    "fetch_status",
]  # fmt: skip


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="show the running supervision tree and pipeline figures")
    p.add_argument("--json", action="store_true", help="print the raw replies as JSON")
    p.add_argument("--window", type=float, default=1.0, help="seconds to collect replies")
    p.set_defaults(func=_status)


async def fetch_status(target: NatsTarget | str, window_s: float = 1.0) -> list[dict[str, Any]]:
    """Every process's `alpha.status` reply; a bare URL connects without credentials."""
    if isinstance(target, str):
        target = NatsTarget(target, NatsAuth())
    bus = await target.connect("alpha-panda:status")
    try:
        replies = await bus.gather_replies(STATUS_SUBJECT, b"", window_s=window_s)
    finally:
        await bus.close()
    return [json.loads(r.data) for r in replies]


def _status(args: argparse.Namespace) -> int:
    target = nats_target(load_settings())
    replies = run_async(fetch_status(target, args.window))
    if not replies:
        print(f"no alpha-panda process answered {STATUS_SUBJECT} on {target.shown}")
        return 1
    if args.json:
        print(json.dumps(replies if len(replies) > 1 else replies[0], indent=2))
        return 0
    for reply in replies:
        print(render_process(reply))
    return 0


def render_process(reply: dict[str, Any]) -> str:
    p = reply.get("process", {})
    head = (
        f"process {p.get('pid')} on {p.get('host')}  roles {','.join(p.get('roles', []))}  "
        f"env {p.get('env')}  up {p.get('uptime_s')}s  nats {p.get('nats_url')}"
    )
    lines = [head]
    security = p.get("security") or {}
    if p.get("auth") or security:
        line = f"auth: {p.get('auth', '?')}  user {security.get('user', '?')}"
        line += f"  permission violations {security.get('violations', 0)}"
        last = security.get("last_violation")
        if last:
            line += f" (last: {last.get('kind')} to {last.get('subject')})"
        lines.append(line)
    tree = reply.get("tree")
    lines.extend(render_tree(StatusNode.from_builtins(tree)) if tree else [])
    pipeline = reply.get("pipeline")
    if pipeline:
        lines.append("")
        lines.extend(render_pipeline(pipeline))
    drift = reply.get("drift")
    if drift:
        lines.append("")
        lines.extend(render_drift(drift))
    return "\n".join(lines)


def render_drift(drift: dict[str, Any]) -> list[str]:
    """Live minus paper fill price per strategy and instrument (positive: live cost more)."""
    head = (
        f"drift {drift.get('live')} vs {drift.get('paper')} (live fill minus paper fill, "
        f"positive = live cost more): pairs {drift.get('pairs', 0)}  "
        f"waiting {drift.get('waiting', 0)}"
    )
    lines = [head]
    for sid, instruments in (drift.get("strategies") or {}).items():
        for fig in instruments.values():
            lines.append(
                f"  {sid} {fig.get('symbol')}: pairs {fig.get('pairs')}  mean {fig.get('mean')}"
                f" ({fig.get('mean_bps')} bps)  last {fig.get('last')}  worst {fig.get('worst')}"
            )
    return lines


def render_tree(node: StatusNode, prefix: str = "") -> list[str]:
    label = f"{node.name} [{node.kind}"
    if node.is_supervisor:
        label += f" {node.strategy}"
    label += f"] {node.state}"
    if node.restarts:
        label += f"  restarts={node.restarts}"
    lease = node.figures.get("lease")
    if isinstance(lease, dict):
        label += f"  lease {lease.get('key')}: " + (
            "held by this process" if lease.get("held") else f"owner {lease.get('owner')}"
        )
    if node.kind == "process":  # a child process (the feed's): its own tree follows
        label += f"  pid={node.figures.get('pid')}"
    elif not node.is_supervisor and node.state != "standby":
        fig = node.figures
        label += (
            f"  mailbox={fig.get('mailbox_depth', 0)}/{fig.get('mailbox_size', 0)}"
            f"  pending={fig.get('consumer_pending', 0)}  in={fig.get('processed', 0)}"
            f"  out={fig.get('outputs', 0)}"
        )
        for key in ("failed", "dead_lettered", "invalid", "gaps"):
            if fig.get(key):
                label += f"  {key}={fig[key]}"
        kite = fig.get("kite")
        if isinstance(kite, dict):  # the Kite market feed's connections (actors/kite/feed.py)
            label += f"\n{prefix}    kite: " + "  ".join(f"{k}={v}" for k, v in kite.items())
    session = node.figures.get("session")  # the zerodha session watcher's figures
    if isinstance(session, dict):
        label += (
            f"\n{prefix}    session {session.get('user_id') or '-'} expires "
            f"{session.get('expires_at') or 'unknown'} (halt at {session.get('halt_at')})"
        )
        if session.get("halted"):
            label += f"\n{prefix}    HALTED zerodha: {session['halted']}"
    if node.last_error:
        label += f"\n{prefix}    last error {node.last_error_at}: {node.last_error}"
    lines = [prefix + label]
    for child in node.children:
        lines.extend(render_tree(child, prefix + "  "))
    return lines


def _figure(key: str, value: Any) -> str:
    """`key=value`, money to the paisa (`realized_pnl=655.72`, never 28 digits)."""
    return f"{key}={money(value) if is_money_key(key) else value}"


def render_pipeline(pipeline: dict[str, Any]) -> list[str]:
    lines = []
    for broker, fig in pipeline.items():
        flat = {k: v for k, v in fig.items() if not isinstance(v, dict)}
        lines.append(f"broker {broker}: " + "  ".join(_figure(k, v) for k, v in flat.items()))
        for sid, s in (fig.get("strategies") or {}).items():
            lines.append(f"  strategy {sid}: " + "  ".join(_figure(k, v) for k, v in s.items()))
    return lines
