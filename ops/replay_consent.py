"""Replays and re-drives inside the trust boundary.

`bridge replay` publishes into NATS as the control role's user, and only after the running
control gate has checked the API token (constant time) and stored who and what on
`audit.redrive`. A dry run publishes nothing: it needs neither the token nor the gate.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

import msgspec

from actors.control.gate import AUTH_HEADER
from actors.control.gate import ReplayRequest as ConsentRequest
from ops.errors import ControlRefused
from ops.nats_access import nats_target
from ops.settings import Settings
from schemas.errors import ConfigError
from schemas.names import REPLAY_REQUEST_SUBJECT
from supervisors.bus import Bus

if TYPE_CHECKING:
    from bridge.replay.republish import ReplayRequest

__all__ = ["connect_for_replay", "authorize_replay", "REPLAY_USER"]

REPLAY_USER = "control"


async def authorize_replay(
    bus: Bus,
    token: str,
    action: Literal["replay", "redrive"],
    who: str,
    detail: dict[str, str],
    reason: str = "",
) -> str:
    """Ask the running control gate to let a replay or re-drive publish: it checks the token
    (constant time) and stores who and what on `audit.redrive`; returns that record's id."""
    body = msgspec.json.encode(
        ConsentRequest(action=action, reason=reason, requested_by=who, detail=detail)
    )
    try:
        reply = await bus.nc.request(
            REPLAY_REQUEST_SUBJECT, body, timeout=5, headers={AUTH_HEADER: f"Bearer {token}"}
        )
    except Exception as exc:  # no responder / timeout
        raise ControlRefused(
            f"no control gate answered {REPLAY_REQUEST_SUBJECT} ({type(exc).__name__}): a "
            f"{action} publishes only with the running system's consent; start "
            "`alpha-panda up` (the control role) first"
        ) from None
    result = json.loads(reply.data)
    if not result.get("ok"):
        raise ControlRefused(f"{action} refused by the control gate: {result.get('error')}")
    return str(result["id"])


def _detail(request: ReplayRequest) -> dict[str, str]:
    return {
        "topic": request.topic,
        "offsets": f"{request.from_offset}..{request.to_offset}",
        "times": f"{request.from_time}..{request.to_time}",
        "filters": ";".join(f"{k}={','.join(v)}" for k, v in request.filters.items()),
        "to_subject": request.to_subject or "",
    }


async def connect_for_replay(settings: Settings, request: ReplayRequest, who: str) -> Bus:
    """A connection allowed to run `request`: for a real replay, the control user's, after
    the gate's consent; for a dry run, the operator's (nothing is published)."""
    if request.dry_run:
        return await nats_target(settings).connect("alpha-panda:bridge-replay")
    if settings.api_token is None:
        raise ConfigError(
            "a replay into NATS needs the running system's token: set ALPHA_PANDA_API_TOKEN "
            "(--dry-run needs none)"
        )
    action: Literal["replay", "redrive"] = "redrive" if request.redrive else "replay"
    bus = await nats_target(settings, REPLAY_USER).connect("alpha-panda:bridge-replay")
    try:
        await authorize_replay(
            bus, settings.api_token.get_secret_value(), action, who, _detail(request)
        )
    except BaseException:
        await bus.close()
        raise
    return bus
