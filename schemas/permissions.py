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
from dataclasses import dataclass
from typing import Final

from schemas.names import (
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    LEASE_BUCKET,
    MARKET_TICKS_ALL,
    ORDERS_ACCEPTED,
    ORDERS_CANCELLED,
    ORDERS_FAILED,
    ORDERS_FILLED,
    ORDERS_SUBMITTED,
    PNL_SNAPSHOTS,
    SIGNALS_RAW,
    SIGNALS_REJECTED,
    SIGNALS_VALIDATED,
    STATE_BUCKET,
    STATUS_SUBJECT,
    STREAMS,
    Area,
    Broker,
    ControlVerb,
    audit_subject,
    broker_subject,
    broker_wildcard,
    control_subject,
    control_wildcard,
    dlq_subject,
    durable_name,
    kv_stream,
    kv_subject,
    portfolio_request_subject,
    stream_for_broker,
)

__all__ = [
    "ROLES",
    "OPERATOR",
    "APP",
    "USERS",
    "Grant",
    "Permissions",
    "role_permissions",
    "operator_permissions",
    "process_user",
    "user_permissions",
    "permission_table",
    "inbox_prefix",
    "subject_matches",
    "bridge_durable",
]

ROLES: Final = ("feed", "strategies", "risk", "execution", "portfolio", "bridge", "web", "control")
OPERATOR: Final = "operator"
#: the user of a process that runs several roles: the union of exactly those roles
APP: Final = "app"
USERS: Final = (*ROLES, APP, OPERATOR)

_API: Final = "$JS.API"


@dataclass(frozen=True, slots=True)
class Grant:
    """One subject family a role uses, and what it may publish and subscribe there."""

    family: str
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class Permissions:
    """A NATS user's permissions: the union of its grants, plus its own inbox."""

    user: str
    grants: tuple[Grant, ...]

    @property
    def publish(self) -> tuple[str, ...]:
        return _unique(s for g in self.grants for s in g.publish)

    @property
    def subscribe(self) -> tuple[str, ...]:
        return _unique(s for g in self.grants for s in g.subscribe)

    def may_publish(self, subject: str) -> bool:
        return any(subject_matches(p, subject) for p in self.publish)

    def may_subscribe(self, subject: str) -> bool:
        return any(subject_matches(p, subject) for p in self.subscribe)

    @property
    def streams_read(self) -> tuple[str, ...]:
        """The app's streams this user reads (what a process checks exist at start; KV
        buckets are made on first use)."""
        return tuple(s for s in STREAMS if self.may_publish(f"{_API}.STREAM.INFO.{s}"))

    @property
    def manages_streams(self) -> bool:
        return all(self.may_publish(f"{_API}.STREAM.CREATE.{s}") for s in STREAMS)


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix of a user's connections (nats-py's `inbox_prefix`)."""
    return f"_INBOX.{user}"


def _api(*tokens: str) -> str:
    return ".".join((_API, *tokens))


def _durable(stream: str, durable: str) -> Grant:
    """A durable pull consumer: create or update it, read its info, pull, ack."""
    return Grant(
        f"consumer {stream}/{durable}",
        publish=(
            _api("STREAM.INFO", stream),
            _api("CONSUMER.INFO", stream, durable),
            _api("CONSUMER.CREATE", stream, durable),
            _api("CONSUMER.CREATE", stream, durable, ">"),
            _api("CONSUMER.DURABLE.CREATE", stream, durable),
            _api("CONSUMER.MSG.NEXT", stream, durable),
            f"$JS.ACK.{stream}.{durable}.>",
        ),
    )


def _ordered(stream: str) -> Grant:
    """Ordered consumers and stream replays: ephemeral, unacked, with flow control."""
    return Grant(
        f"ordered reads of {stream}",
        publish=(
            _api("STREAM.INFO", stream),
            _api("CONSUMER.CREATE", stream),
            _api("CONSUMER.INFO", stream, "*"),
            f"$JS.FC.{stream}.>",
        ),
    )


def _kv(bucket: str, key: str) -> Grant:
    """A KV bucket: find or create it, put and get `key` (a wildcard for several keys)."""
    stream = kv_stream(bucket)
    return Grant(
        f"kv {bucket}/{key}",
        publish=(
            _api("STREAM.INFO", stream),
            _api("STREAM.CREATE", stream),
            _api("STREAM.MSG.GET", stream),
            _api("DIRECT.GET", stream, kv_subject(bucket, key)),
            kv_subject(bucket, key),
        ),
    )


def _publishes(family: str, *subjects: str) -> Grant:
    return Grant(family, publish=subjects)


def _every_role() -> tuple[Grant, ...]:
    return (
        Grant("status", subscribe=(STATUS_SUBJECT,)),
        _publishes("audit.security", audit_subject("security")),
    )


def _stateful(role: str, broker: Broker) -> tuple[Grant, ...]:
    """Snapshot, lease and the broker supervisor's halt for a broker's role."""
    return (
        _kv(STATE_BUCKET, durable_name(role, broker)),
        _kv(LEASE_BUCKET, ">"),
        _ordered(kv_stream(LEASE_BUCKET)),  # a standby watches the owner's lease
        _publishes(f"halt {broker}", control_subject(ControlVerb.HALT, broker)),
    )


def bridge_durable(stream: str) -> str:
    """The bridge's durable consumer on `stream`."""
    return durable_name("bridge", None) + "-" + stream.lower()


_ORDER_EVENTS: Final = (
    ORDERS_SUBMITTED, ORDERS_ACCEPTED, ORDERS_FILLED, ORDERS_FAILED, ORDERS_CANCELLED,
)  # fmt: skip
_STREAM_ADMIN: Final = ("STREAM.INFO", "STREAM.CREATE", "STREAM.UPDATE")


def _per_broker(role: str, broker: Broker) -> tuple[Grant, ...]:
    stream = stream_for_broker(broker).name
    mine = durable_name(role, broker)
    dlq = dlq_subject(broker_wildcard(broker))
    if role == "strategies":
        return (
            _publishes(f"{broker} signals.raw", broker_subject(broker, SIGNALS_RAW)),
            _publishes("dlq market", dlq_subject(MARKET_TICKS_ALL)),
            _kv(STATE_BUCKET, mine),
            _publishes(f"halt {broker}", control_subject(ControlVerb.HALT, broker)),
        )
    if role == "risk":
        return (
            _durable(stream, mine),
            _ordered(stream),  # the replay after a snapshot
            _publishes(
                f"{broker} signal verdicts",
                broker_subject(broker, SIGNALS_VALIDATED),
                broker_subject(broker, SIGNALS_REJECTED),
            ),
            _publishes(f"dlq {broker}", dlq, dlq_subject(control_wildcard())),
            *_stateful(role, broker),
        )
    if role == "execution":
        return (
            _durable(stream, mine),
            _ordered(stream),
            _publishes(f"{broker} orders", *(broker_subject(broker, e) for e in _ORDER_EVENTS)),
            _publishes(f"dlq {broker}", dlq, dlq_subject(MARKET_TICKS_ALL)),
            *_stateful(role, broker),
        )
    if role == "portfolio":
        return (
            _durable(stream, mine),
            _ordered(stream),
            _publishes(f"{broker} pnl", broker_subject(broker, PNL_SNAPSHOTS)),
            Grant(f"{broker} portfolio requests", subscribe=(portfolio_request_subject(broker),)),
            _publishes(f"dlq {broker}", dlq, dlq_subject(MARKET_TICKS_ALL)),
            *_stateful(role, broker),
        )
    if role == "web":
        return (
            _publishes(f"{broker} portfolio requests", portfolio_request_subject(broker)),
            _ordered(stream),
        )
    return ()


def _role_grants(role: str) -> tuple[Grant, ...]:
    per_broker = tuple(g for b in BROKERS for g in _per_broker(role, b))
    if role == "feed":
        last_ticks = (_api("STREAM.INFO", "MARKET"), _api("STREAM.MSG.GET", "MARKET"))
        return (
            _publishes("ticks", MARKET_TICKS_ALL),
            _publishes("dlq market", dlq_subject(MARKET_TICKS_ALL)),
            Grant("MARKET last ticks", publish=last_ticks),
        )
    if role in ("strategies", "execution", "portfolio"):
        return (_ordered("MARKET"), *per_broker)
    if role == "risk":
        return (_ordered("CONTROL"), *per_broker)
    if role == "bridge":
        resets = (_api("CONSUMER.DELETE", s, bridge_durable(s)) for s in STREAMS)
        return (
            Grant("stream list", publish=(_api("INFO"), _api("STREAM.LIST"), _api("STREAM.NAMES"))),
            *(_durable(s, bridge_durable(s)) for s in STREAMS),
            _publishes("bridge consumer reset", *resets),
        )
    if role == "web":
        return (
            _publishes("requests", STATUS_SUBJECT, CONTROL_REQUEST_SUBJECT),
            _ordered("ALERTS"),
            *per_broker,
        )
    if role == "control":
        return (
            # the gate serves them; a replay run as this user asks the gate first
            Grant(
                "control requests",
                publish=(CONTROL_REQUEST_SUBJECT,),
                subscribe=(CONTROL_REQUEST_SUBJECT,),
            ),
            _publishes("control commands", control_wildcard()),
            _publishes("audit", audit_subject("control"), audit_subject("redrive")),
            Grant(
                "stream management",
                publish=(_api("INFO"), *(_api(op, s) for s in STREAMS for op in _STREAM_ADMIN)),
            ),
            # `bridge replay` and dead-letter re-drives republish to their original subjects,
            # after the API token is checked (DESIGN: replays inside the boundary).
            _publishes(
                "replay and re-drive",
                MARKET_TICKS_ALL,
                *(broker_wildcard(b, a) for b in BROKERS for a in Area),
                "alerts.>",
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
    """The user a process connects as: its role's user, or `app` for several roles."""
    unique = tuple(dict.fromkeys(roles))
    return unique[0] if len(unique) == 1 and unique[0] in ROLES else APP


def permission_table(app_roles: Iterable[str] = ROLES) -> dict[str, Permissions]:
    """Every user: one per role, `app` (the union of `app_roles`) and the operator."""
    table = {role: role_permissions(role) for role in ROLES}
    table[APP] = user_permissions(APP, [r for r in app_roles if r in ROLES])
    table[OPERATOR] = operator_permissions()
    return table
