"""Who may publish and subscribe what on the bus: one table, built from the names module.

Each role of the tree gets the subjects its actors publish and consume, plus the JetStream
API subjects of its own streams and consumers, spelled as nats-py sends them: durable pull
consumers (create, info, next, ack), ordered consumers (ephemeral create, info, flow
control), KV snapshots and leases (publish to `$KV.<bucket>.<key>`, direct and stream
message get) and publish acknowledgements (replies to the user's own inbox). The embedded
server's users, `alpha-panda ops nats-config` and the tests all read this table, so the
catalogue can answer, for each role, which subjects it publishes and consumes.

Replies are covered by `allow_responses` (a responder may answer the requests it received)
and each user reads only its own inbox prefix, `_INBOX.<user>.>`, so no role sees another
one's replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from schemas.grants import (
    Grant,
    Permissions,
    durable_consumer,
    inbox_prefix,
    js_api,
    kv_access,
    ordered_reads,
    publishes,
)
from schemas.names import (
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    DLQ_STREAM,
    LEASE_BUCKET,
    MARKET_TICKS_ALL,
    ORDERS_ACCEPTED,
    ORDERS_CANCELLED,
    ORDERS_FAILED,
    ORDERS_FILLED,
    ORDERS_SUBMITTED,
    PNL_SNAPSHOTS,
    REPLAY_REQUEST_SUBJECT,
    SIGNALS_RAW,
    SIGNALS_REJECTED,
    SIGNALS_VALIDATED,
    STATE_BUCKET,
    STATUS_SUBJECT,
    STREAMS,
    Area,
    Broker,
    ControlVerb,
    PerBrokerEvent,
    audit_subject,
    broker_subject,
    broker_wildcard,
    control_subject,
    control_wildcard,
    dlq_subject,
    durable_name,
    kv_stream,
    kv_subject,
    lease_key,
    portfolio_request_subject,
    stream_for_broker,
)

__all__ = [
    "ROLES",
    "OPERATOR",
    "APP",
    "OWNER",
    "OWNER_ROLES",
    "USERS",
    "role_permissions",
    "operator_permissions",
    "process_user",
    "user_permissions",
    "permission_table",
    "bridge_durable",
]

ROLES: Final = ("feed", "strategies", "risk", "execution", "portfolio", "bridge", "web", "control")
OPERATOR: Final = "operator"
#: a broker's stateful roles share its lease and so run in one process, as this user
OWNER: Final = "owner"
OWNER_ROLES: Final = ("portfolio", "execution", "risk")
#: the user of a process that runs any other set of roles: the union of exactly those roles
APP: Final = "app"
USERS: Final = (*ROLES, OWNER, APP, OPERATOR)


def _every_role() -> tuple[Grant, ...]:
    return (
        Grant("status", subscribe=(STATUS_SUBJECT,)),
        # the launcher of every process restarts its own actors when an operator asks
        Grant("operator restarts", subscribe=(control_subject(ControlVerb.RESTART),)),
        publishes("audit.security", audit_subject("security")),
    )


def _stateful(role: str, broker: Broker) -> tuple[Grant, ...]:
    """Snapshot, lease and the broker supervisor's halt for a broker's role."""
    return (
        kv_access(STATE_BUCKET, durable_name(role, broker)),
        kv_access(LEASE_BUCKET, lease_key(broker)),
        # a standby watches the owner's lease
        ordered_reads(kv_stream(LEASE_BUCKET), (kv_subject(LEASE_BUCKET, lease_key(broker)),)),
        publishes(f"halt {broker}", control_subject(ControlVerb.HALT, broker)),
    )


def bridge_durable(stream: str) -> str:
    """The bridge's durable consumer on `stream`."""
    return durable_name("bridge", None) + "-" + stream.lower()


_ORDER_EVENTS: Final = (
    ORDERS_SUBMITTED, ORDERS_ACCEPTED, ORDERS_FILLED, ORDERS_FAILED, ORDERS_CANCELLED,
)  # fmt: skip
_STREAM_ADMIN: Final = ("STREAM.INFO", "STREAM.CREATE", "STREAM.UPDATE")


_CONSUMED: Final[dict[str, tuple[PerBrokerEvent, ...]]] = {
    "risk": (SIGNALS_RAW, ORDERS_FILLED, ORDERS_CANCELLED, ORDERS_FAILED),
    "execution": (SIGNALS_VALIDATED, ORDERS_FILLED, ORDERS_CANCELLED),
    "portfolio": _ORDER_EVENTS,
}
_TICKS: Final = (MARKET_TICKS_ALL,)


def _consumer(role: str, broker: Broker) -> tuple[Grant, ...]:
    """A broker role's durable consumer, and the replay of the same subjects after a snapshot."""
    stream = stream_for_broker(broker).name
    subjects = tuple(broker_subject(broker, e) for e in _CONSUMED[role])
    return (
        durable_consumer(stream, durable_name(role, broker), subjects),
        ordered_reads(stream, subjects),
    )


def _per_broker(role: str, broker: Broker) -> tuple[Grant, ...]:
    stream = stream_for_broker(broker).name
    mine = durable_name(role, broker)
    dlq = dlq_subject(broker_wildcard(broker))
    if role == "strategies":
        return (
            publishes(f"{broker} signals.raw", broker_subject(broker, SIGNALS_RAW)),
            publishes("dlq market", dlq_subject(MARKET_TICKS_ALL)),
            kv_access(STATE_BUCKET, mine),
            publishes(f"halt {broker}", control_subject(ControlVerb.HALT, broker)),
        )
    if role == "risk":
        return (
            *_consumer(role, broker),
            publishes(
                f"{broker} signal verdicts",
                broker_subject(broker, SIGNALS_VALIDATED),
                broker_subject(broker, SIGNALS_REJECTED),
            ),
            publishes(f"dlq {broker}", dlq, dlq_subject(control_wildcard())),
            *_stateful(role, broker),
        )
    if role == "execution":
        return (
            *_consumer(role, broker),
            publishes(f"{broker} orders", *(broker_subject(broker, e) for e in _ORDER_EVENTS)),
            # a venue that halts its broker (Kite away, reconciliation failed) says why
            publishes("audit halts", audit_subject("halt")),
            publishes(f"dlq {broker}", dlq, dlq_subject(MARKET_TICKS_ALL)),
            *_stateful(role, broker),
        )
    if role == "portfolio":
        return (
            *_consumer(role, broker),
            publishes(f"{broker} pnl", broker_subject(broker, PNL_SNAPSHOTS)),
            Grant(f"{broker} portfolio requests", subscribe=(portfolio_request_subject(broker),)),
            publishes(f"dlq {broker}", dlq, dlq_subject(MARKET_TICKS_ALL)),
            *_stateful(role, broker),
        )
    if role == "web":
        return (
            publishes(f"{broker} portfolio requests", portfolio_request_subject(broker)),
            # the PnL snapshots and the order blotter, read back (read only)
            ordered_reads(
                stream,
                (
                    broker_subject(broker, PNL_SNAPSHOTS),
                    *(broker_subject(broker, e) for e in _ORDER_EVENTS),
                ),
            ),
        )
    return ()


def _role_grants(role: str) -> tuple[Grant, ...]:
    per_broker = tuple(g for b in BROKERS for g in _per_broker(role, b))
    if role == "feed":
        last_ticks = (js_api("STREAM.INFO", "MARKET"), js_api("STREAM.MSG.GET", "MARKET"))
        return (
            publishes("ticks", MARKET_TICKS_ALL),
            publishes("dlq market", dlq_subject(MARKET_TICKS_ALL)),
            Grant("MARKET last ticks", publish=last_ticks),
        )
    # Risk and execution judge a signal by the tick it names, read from MARKET by sequence
    # when their own window no longer holds it (actors/named_tick.py).
    named_ticks = Grant("MARKET ticks by sequence", publish=(js_api("STREAM.MSG.GET", "MARKET"),))
    if role in ("strategies", "portfolio"):
        return (ordered_reads("MARKET", _TICKS), *per_broker)
    if role == "execution":
        return (ordered_reads("MARKET", _TICKS), named_ticks, *per_broker)
    if role == "risk":
        return (
            ordered_reads("CONTROL", (control_wildcard(),)),
            ordered_reads("MARKET", _TICKS),
            named_ticks,
            *per_broker,
        )
    if role == "bridge":
        return (
            Grant(
                "stream list",
                publish=(js_api("INFO"), js_api("STREAM.LIST"), js_api("STREAM.NAMES")),
            ),
            *(durable_consumer(s, bridge_durable(s), STREAMS[s].subjects) for s in STREAMS),
        )
    if role == "web":
        return (
            # control goes through the gate with the caller's token; the web only asks
            publishes("requests", STATUS_SUBJECT, CONTROL_REQUEST_SUBJECT, REPLAY_REQUEST_SUBJECT),
            ordered_reads("ALERTS", STREAMS["ALERTS"].subjects),
            # the dead-letter browser reads the DLQ stream (a re-drive by sequence, too)
            ordered_reads(DLQ_STREAM.name, tuple(DLQ_STREAM.subjects)),
            Grant("DLQ by sequence", publish=(js_api("STREAM.MSG.GET", DLQ_STREAM.name),)),
            # /readyz compares every stream's configuration with the overlay (read only)
            Grant("stream info", publish=tuple(js_api("STREAM.INFO", s) for s in STREAMS)),
            *per_broker,
        )
    if role == "control":
        return (
            # the gate serves them; a replay run as this user asks the gate first
            Grant("control requests", subscribe=(CONTROL_REQUEST_SUBJECT, REPLAY_REQUEST_SUBJECT)),
            publishes("replay consent", REPLAY_REQUEST_SUBJECT),
            publishes("control commands", control_wildcard()),
            publishes("audit", audit_subject("control"), audit_subject("redrive")),
            # the drift monitor compares the brokers' fills (read only)
            *(
                ordered_reads(stream_for_broker(b).name, (broker_subject(b, ORDERS_FILLED),))
                for b in BROKERS
            ),
            Grant(
                "stream management",
                publish=(js_api("INFO"), *(js_api(op, s) for s in STREAMS for op in _STREAM_ADMIN)),
            ),
            # `bridge replay` and dead-letter re-drives republish to their original subjects,
            # after the API token is checked (DESIGN: replays inside the boundary).
            publishes(
                "replay and re-drive",
                MARKET_TICKS_ALL,
                *(broker_wildcard(b, a) for b in BROKERS for a in Area),
                "alerts.>",
            ),
            # `alpha-panda dlq redrive` reads the letters it re-drives and removes each one it
            # has republished, so a second re-drive does not send it again
            ordered_reads(DLQ_STREAM.name, DLQ_STREAM.subjects),
            Grant(
                "dead letters",
                publish=(
                    js_api("STREAM.MSG.GET", DLQ_STREAM.name),
                    js_api("STREAM.MSG.DELETE", DLQ_STREAM.name),
                ),
            ),
        )
    raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def role_permissions(role: str) -> Permissions:
    """The permissions of one role's user."""
    return user_permissions(role, (role,))


def user_permissions(user: str, roles: Iterable[str]) -> Permissions:
    """The permissions of `user` running `roles`: their union, plus the user's inbox."""
    grants = (g for role in dict.fromkeys(roles) for g in _role_grants(role))
    mine = Grant("replies", subscribe=(inbox_prefix(user) + ".>",))
    return Permissions(user, tuple(dict.fromkeys((*_every_role(), *grants, mine))))


def operator_permissions() -> Permissions:
    """The operator (the CLI, a person with the nats CLI): everything."""
    return Permissions(OPERATOR, (Grant("everything", publish=(">",), subscribe=(">",)),))


def process_user(roles: Iterable[str]) -> str:
    """The user a process connects as: its role's user, `owner` for a broker's stateful
    roles together, or `app` for any other set of roles."""
    unique = tuple(dict.fromkeys(roles))
    if len(unique) == 1 and unique[0] in ROLES:
        return unique[0]
    return OWNER if set(unique) == set(OWNER_ROLES) else APP


def permission_table(app_roles: Iterable[str] = ROLES) -> dict[str, Permissions]:
    """Every user: one per role, `owner`, `app` (the union of `app_roles`) and the operator."""
    table = {role: role_permissions(role) for role in ROLES}
    table[OWNER] = user_permissions(OWNER, OWNER_ROLES)
    table[APP] = user_permissions(APP, [r for r in app_roles if r in ROLES])
    table[OPERATOR] = operator_permissions()
    return table
