"""Start the paper account afresh: `alpha-panda paper reset --confirm`, or `up --fresh`.

The paper broker's state is rebuilt on every start from its snapshots (KV `alpha_state`)
plus a replay of the `PAPER` stream after them (DESIGN "Delivery semantics"). Deleting the
snapshots alone would replay the old orders and fills back into positions; so a reset
removes both: it purges `PAPER` (sequence numbers go on from where they were, so durable
consumers and the bridge's resume points stay valid) and the paper snapshots of
portfolio, execution, risk and the strategies. Cash returns to the starting cash,
positions, open orders and the day's risk figures to nothing, the strategies' windows warm
up again. Read models under the `paper:` prefix in Redis go too.

What stays: `ZERODHA` and every `zerodha-*` key (a reset never touches a live account), the
market data, the trading state on `CONTROL`, and the order/fill ledger, which is the record
of what happened (its rows keep their ids; nothing rebuilds positions from it). The reset
itself is recorded on `audit.reset`.

Only while nothing trades paper: the caller holds `up.lock` of its data directory, and the
broker's lease (`alpha_leases`, key `broker-paper`) has no live holder elsewhere.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from schemas.envelope import new_envelope
from schemas.errors import ConfigError
from schemas.events import AuditEvent
from schemas.names import (
    LEASE_BUCKET,
    PAPER_STREAM,
    STATE_BUCKET,
    Broker,
    audit_subject,
    lease_key,
)
from supervisors.bus import Bus
from supervisors.lease import LeaseRecord

__all__ = ["PaperInUse", "ResetReport", "reset_paper_account", "paper_state_keys"]

_BROKER: Final[Broker] = "paper"
# the actors that keep paper state in the state bucket, by the snapshot key each sets
# (`<actor>-<broker>`: actors/portfolio, execution, risk and strategies)
_STATEFUL: Final = ("portfolio", "execution", "risk", "strategies")


def paper_state_keys() -> tuple[str, ...]:
    return tuple(f"{actor}-{_BROKER}" for actor in _STATEFUL)


class PaperInUse(ConfigError):
    """The paper broker runs somewhere: resetting under it would corrupt its state."""


@dataclass
class ResetReport:
    purged_messages: int = 0
    snapshots_deleted: list[str] = field(default_factory=list)
    read_model_keys_deleted: int = 0
    audit_id: str = ""

    def describe(self) -> str:
        return (
            f"paper account reset: {self.purged_messages} message(s) purged from "
            f"{PAPER_STREAM.name}, snapshots deleted: {', '.join(self.snapshots_deleted) or 'none'}"
            f", read-model keys deleted: {self.read_model_keys_deleted}; "
            "zerodha untouched; the ledger keeps its history"
        )


def _alive_here(record: LeaseRecord) -> bool:
    """False only when the holder ran on this host and its process is gone."""
    if record.host != socket.gethostname():
        return True
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return record.pid != os.getpid()


async def _check_no_owner(bus: Bus) -> None:
    try:
        kv = await bus.js.key_value(LEASE_BUCKET)
        entry = await kv.get(lease_key(_BROKER))
    except Exception:  # no bucket, or no key: nobody holds paper
        return
    if not entry.value:
        return
    try:
        record = msgspec.json.decode(entry.value, type=LeaseRecord)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    if _alive_here(record):
        raise PaperInUse(
            f"the paper broker is running: process {record.pid} on {record.host} holds its "
            f"lease ({LEASE_BUCKET}/{lease_key(_BROKER)}); stop that `alpha-panda up` first, "
            f"or wait {record.ttl_s:g}s for the lease of a dead one to lapse"
        )


async def _delete_read_models(redis_url: str | None) -> int:
    if not redis_url:
        return 0  # in-memory read models die with their process
    import redis.asyncio as redis

    from actors.stores.read_models import BrokerKeys

    client: Any = redis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{BrokerKeys.of(_BROKER).prefix}:*")]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


async def reset_paper_account(
    bus: Bus, requested_by: str, *, redis_url: str | None = None
) -> ResetReport:
    """Purge `PAPER`, delete the paper snapshots and read models; record it on audit.reset.

    `bus` must be allowed stream and KV administration (the operator). The caller holds
    the data directory's `up.lock`; this checks the broker lease (`PaperInUse`)."""
    await _check_no_owner(bus)
    report = ResetReport()
    try:
        info = await bus.js.stream_info(PAPER_STREAM.name)
    except Exception:
        info = None  # never created: nothing to purge
    if info is not None:
        report.purged_messages = int(info.state.messages)
        await bus.js.purge_stream(PAPER_STREAM.name)
    kv = await bus.key_value(STATE_BUCKET)
    for key in paper_state_keys():
        try:
            await kv.get(key)
        except Exception:
            continue  # never snapshotted
        await kv.purge(key)
        report.snapshots_deleted.append(key)
    report.read_model_keys_deleted = await _delete_read_models(redis_url)
    event = AuditEvent(
        kind="reset",
        actor=requested_by or "unknown",
        detail={
            "broker": _BROKER,
            "purged_messages": str(report.purged_messages),
            "snapshots": ",".join(report.snapshots_deleted),
            "read_model_keys": str(report.read_model_keys_deleted),
        },
    )
    env = new_envelope(event, source="ops.paper_reset", broker=_BROKER, key=_BROKER)
    await bus.publish(audit_subject("reset"), env)
    report.audit_id = env.id
    return report
