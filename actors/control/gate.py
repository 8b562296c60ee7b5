"""The control gate: the one way a person changes trading state.

`alpha-panda halt|resume|reduce` sends a request to `alpha.control` with
`Authorization: Bearer <token>`. The gate compares the token in constant time with the
running system's ALPHA_PANDA_API_TOKEN, refuses everything when none is configured, and
on success stores a ControlCommand on `control.<verb>[.<broker>]` plus an AuditEvent on
`audit.control` (who and when) before it answers. `alpha-panda restart ACTOR` asks the same
way with verb `restart` and the actor's name; the command goes to `control.restart`, where
the launcher of the process running that actor restarts it.

Replays and dead-letter re-drives pass the same gate: `alpha-panda bridge replay` asks on
`alpha.replay` with the action and what it is about to publish; the gate checks the token,
stores an AuditEvent on `audit.redrive` (who and what) and answers with its id, and only
then does the command publish, as the control role's NATS user.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Sequence
from typing import Literal

import msgspec

from schemas.events import AuditEvent, ControlCommand
from schemas.names import (
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    REPLAY_REQUEST_SUBJECT,
    ControlVerb,
    audit_subject,
    control_subject,
)
from supervisors.actor import Actor, Context, Input, Request

__all__ = ["ControlGate", "ControlRequest", "ReplayRequest", "AUTH_HEADER"]

AUTH_HEADER = "Authorization"


class ControlRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    verb: ControlVerb
    broker: str | None = None
    reason: str = ""
    requested_by: str = ""
    #: the actor `restart` names (required for it, refused for the other verbs)
    actor: str | None = None


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Consent to republish into NATS: a replay of a topic, or a re-drive of dead letters."""

    action: Literal["replay", "redrive"]
    requested_by: str = ""
    reason: str = ""
    detail: dict[str, str] = msgspec.field(default_factory=dict)  # topic, range, filters


_decoder = msgspec.json.Decoder(ControlRequest)
_replay_decoder = msgspec.json.Decoder(ReplayRequest)


class ControlGate(Actor):
    name = "control-gate"
    mailbox_size = 64

    def __init__(self, api_token: str | None, brokers: Sequence[str] | None = None) -> None:
        """`brokers`: the system's active brokers (ALPHA_PANDA_BROKERS); a command for any
        other is refused, naming them, instead of being stored for nobody to act on."""
        self._token = api_token.encode() if api_token else None
        self._brokers = tuple(brokers) if brokers is not None else None
        self.accepted = 0
        self.refused = 0

    def inputs(self) -> Sequence[Input]:
        return (
            Request(CONTROL_REQUEST_SUBJECT, self.on_request),
            Request(REPLAY_REQUEST_SUBJECT, self.on_replay_request),
        )

    async def on_request(self, body: bytes, ctx: Context) -> None:
        error = self._authorize(ctx.headers.get(AUTH_HEADER, ""))
        if error is None:
            try:
                req = _decoder.decode(body)
                verb = req.verb
                if req.broker is not None and req.broker not in BROKERS:
                    raise ValueError(
                        f"unknown broker {req.broker!r}; expected one of {', '.join(BROKERS)}"
                    )
                _check_actor(req)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                error = f"bad control request: {exc}"
            else:
                error = self._not_running(req.broker, verb)
        if error is not None:
            self.refused += 1
            ctx.respond(json.dumps({"ok": False, "error": error}).encode())
            return
        command = ControlCommand(
            verb=verb, broker=req.broker, reason=req.reason, requested_by=req.requested_by,
            actor=req.actor,
        )  # fmt: skip
        subject = control_subject(verb, req.broker)  # type: ignore[arg-type]
        env = ctx.emit(subject, command, key=req.broker or "all")
        ctx.emit(
            audit_subject("control"),
            AuditEvent(
                kind="control",
                actor=req.requested_by or "unknown",
                detail={"verb": str(verb), "broker": req.broker or "all", "reason": req.reason,
                        "command_id": env.id, **({"actor": req.actor} if req.actor else {})},
            ),
        )  # fmt: skip
        self.accepted += 1
        ctx.respond(json.dumps({"ok": True, "subject": subject, "id": env.id}).encode())

    async def on_replay_request(self, body: bytes, ctx: Context) -> None:
        error = self._authorize(ctx.headers.get(AUTH_HEADER, ""))
        if error is None:
            try:
                req = _replay_decoder.decode(body)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                error = f"bad replay request: {exc}"
        if error is not None:
            self.refused += 1
            ctx.respond(json.dumps({"ok": False, "error": error}).encode())
            return
        env = ctx.emit(
            audit_subject("redrive"),
            AuditEvent(
                kind="redrive",
                actor=req.requested_by or "unknown",
                detail={**req.detail, "action": req.action, "reason": req.reason},
            ),
            key=req.detail.get("topic", ""),
        )
        self.accepted += 1
        answer = {"ok": True, "subject": audit_subject("redrive"), "id": env.id}
        ctx.respond(json.dumps(answer).encode())

    def _not_running(self, broker: str | None, verb: ControlVerb) -> str | None:
        running = self._brokers
        if broker is None or running is None or broker in running:
            return None
        return (
            f"broker {broker} is not running in this system (running: "
            f"{', '.join(running) or 'none'}); nothing to {verb}"
        )

    def _authorize(self, header: str) -> str | None:
        if self._token is None:
            return (
                "control actions are disabled: the running system has no ALPHA_PANDA_API_TOKEN; "
                "set it and restart"
            )
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(token.encode(), self._token):
            return "missing or wrong token: pass the system's ALPHA_PANDA_API_TOKEN"
        return None

    def stats(self) -> dict[str, int]:
        return {"accepted": self.accepted, "refused": self.refused}


_ACTOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


def _check_actor(req: ControlRequest) -> None:
    """`restart` names one actor (a name as the tree spells it); no other verb takes one."""
    if req.verb is ControlVerb.RESTART:
        if not req.actor or not _ACTOR_NAME.fullmatch(req.actor):
            raise ValueError(
                f"restart needs the actor's name as `alpha-panda status` shows it "
                f"(got {req.actor!r})"
            )
        if req.broker is not None:
            raise ValueError("restart names an actor, not a broker: leave broker out")
    elif req.actor is not None:
        raise ValueError(f"{req.verb} takes no actor (it acts on a broker or all)")
