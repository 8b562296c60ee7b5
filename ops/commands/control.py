"""`alpha-panda halt|resume|reduce [--broker B]`: token-gated trading state changes."""

from __future__ import annotations

import argparse
import getpass
import json

from actors.control.gate import AUTH_HEADER, ControlRequest
from ops.commands.common import NatsTarget, nats_target, run_async
from ops.settings import load_settings
from schemas.errors import ConfigError
from schemas.names import BROKERS, CONTROL_REQUEST_SUBJECT, ControlVerb

__all__ = ["register", "send_control"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    helps = {
        ControlVerb.HALT: "stop all new orders for a broker (or all brokers)",
        ControlVerb.RESUME: "return a broker to ACTIVE trading",
        ControlVerb.REDUCE: "allow only exposure-reducing orders",
    }
    for verb, text in helps.items():
        p = sub.add_parser(str(verb), help=text)
        p.add_argument("--broker", choices=BROKERS, help="one broker; default: all")
        p.add_argument("--reason", default="", help="recorded in the audit trail")
        p.set_defaults(func=_control, verb=verb)


async def send_control(
    target: NatsTarget,
    token: str,
    verb: ControlVerb,
    broker: str | None,
    reason: str,
    who: str,
    *,
    actor: str | None = None,
) -> dict[str, object]:
    import msgspec

    bus = await target.connect("alpha-panda:control")
    try:
        body = msgspec.json.encode(
            ControlRequest(verb=verb, broker=broker, reason=reason, requested_by=who, actor=actor)
        )
        reply = await bus.nc.request(
            CONTROL_REQUEST_SUBJECT, body, timeout=5, headers={AUTH_HEADER: f"Bearer {token}"}
        )
    finally:
        await bus.close()
    result: dict[str, object] = json.loads(reply.data)
    return result


def _control(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.api_token is None:
        raise ConfigError(
            "control actions need a token: set ALPHA_PANDA_API_TOKEN to the running system's token"
        )
    target = nats_target(settings)
    who = f"{getpass.getuser()}@cli"
    try:
        result = run_async(
            send_control(
                target,
                settings.api_token.get_secret_value(),
                args.verb,
                args.broker,
                args.reason,
                who,
            )
        )
    except Exception as exc:  # no responder / timeout
        print(f"alpha-panda: no running system answered {CONTROL_REQUEST_SUBJECT} on "
              f"{target.shown}: {type(exc).__name__}")  # fmt: skip
        return 1
    if not result.get("ok"):
        print(f"refused: {result.get('error')}")
        return 1
    print(f"{args.verb} {args.broker or 'all brokers'}: stored on {result['subject']} "
          f"(id {result['id']})")  # fmt: skip
    return 0
