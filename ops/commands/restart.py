"""`alpha-panda restart ACTOR`: an operator restarts one actor, token-gated and audited.

The name is checked against the running trees first (an unknown one is refused, listing
the valid ones); the gate on `alpha.control` checks the token and records who and when;
the process running the actor restarts it; then the command waits until the actor's
restart count has gone up, so its exit code says whether the restart happened.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from typing import Any

from ops.commands.common import NatsTarget, nats_target, run_async
from ops.commands.control import send_control
from ops.commands.status import fetch_status
from ops.settings import load_settings
from schemas.errors import ConfigError
from schemas.names import CONTROL_REQUEST_SUBJECT, ControlVerb

__all__ = ["register", "actor_restarts"]

CONFIRM_S = 60.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("restart", help="restart one actor by name (token required; audited)")
    p.add_argument("actor", help="the actor's name as `alpha-panda status` shows it")
    p.add_argument("--reason", default="", help="recorded in the audit trail")
    p.set_defaults(func=_restart)


def actor_restarts(replies: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """Every node of every process's tree below its root: name → (restarts, state)."""
    found: dict[str, tuple[int, str]] = {}

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("children") or ():
            found[str(child.get("name"))] = (int(child.get("restarts") or 0),
                                             str(child.get("state")))  # fmt: skip
            walk(child)

    for reply in replies:
        walk(reply.get("tree") or {})
    return found


async def _run(target: NatsTarget, token: str, actor: str, reason: str) -> int:
    before = actor_restarts(await fetch_status(target))
    if not before:
        print(f"alpha-panda: no running system answered on {target.shown}")
        return 1
    if actor not in before:
        print(f"refused: no actor named {actor!r} runs; valid: {', '.join(sorted(before))}")
        return 1
    who = f"{getpass.getuser()}@cli"
    try:
        result = await send_control(target, token, ControlVerb.RESTART, None, reason, who,
                                    actor=actor)  # fmt: skip
    except Exception as exc:  # no responder / timeout
        print(f"alpha-panda: no running system answered {CONTROL_REQUEST_SUBJECT} on "
              f"{target.shown}: {type(exc).__name__}")  # fmt: skip
        return 1
    if not result.get("ok"):
        print(f"refused: {result.get('error')}")
        return 1
    count = before[actor][0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONFIRM_S
    while loop.time() < deadline:
        now = actor_restarts(await fetch_status(target, window_s=0.5)).get(actor)
        if now is not None and now[0] > count and now[1] == "running":
            print(f"restarted {actor} (restarts {count} -> {now[0]}); audited as "
                  f"{result['id']} on {result['subject']}")  # fmt: skip
            return 0
    print(
        f"refused or not done: {actor} did not restart within {CONFIRM_S:g}s "
        "(a standby does not restart; see the log of the process that runs it)"
    )
    return 1


def _restart(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.api_token is None:
        raise ConfigError(
            "control actions need a token: set ALPHA_PANDA_API_TOKEN to the running system's token"
        )
    token = settings.api_token.get_secret_value()
    return run_async(_run(nats_target(settings), token, args.actor, args.reason))
