"""Subject, stream, KV bucket and topic names: the only place they are spelled out.

Every other module builds names through these helpers, so a rename is one edit and a
typo is an import error rather than a message that silently goes nowhere. Which event type
travels on which subject, and under which Avro schema, is `schemas.catalogue`.
tests/schemas/test_catalogue.py fails on a name spelled as a literal anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, get_args

__all__ = [
    "Broker",
    "BROKERS",
    "Area",
    "PerBrokerEvent",
    "SIGNALS_RAW",
    "SIGNALS_VALIDATED",
    "SIGNALS_REJECTED",
    "ORDERS_SUBMITTED",
    "ORDERS_ACCEPTED",
    "ORDERS_FILLED",
    "ORDERS_FAILED",
    "ORDERS_CANCELLED",
    "PNL_SNAPSHOTS",
    "PER_BROKER_EVENTS",
    "StreamSpec",
    "MARKET_STREAM",
    "PAPER_STREAM",
    "ZERODHA_STREAM",
    "DLQ_STREAM",
    "CONTROL_STREAM",
    "ALERTS_STREAM",
    "AUDIT_STREAM",
    "STREAMS",
    "ControlVerb",
    "STATUS_SUBJECT",
    "CONTROL_REQUEST_SUBJECT",
    "REPLAY_REQUEST_SUBJECT",
    "portfolio_request_subject",
    "STATE_BUCKET",
    "LEASE_BUCKET",
    "TICKS_TOPIC",
    "CONTROL_TOPIC",
    "ALERTS_TOPIC",
    "AUDIT_TOPIC",
    "DLQ_TOPIC_SUFFIX",
    "UNROUTABLE_TOPIC",
    "kv_stream",
    "kv_subject",
    "lease_key",
    "MARKET_TICKS_ALL",
    "TICK_PREFIX",
    "tick_subject",
    "token_of_tick_subject",
    "broker_subject",
    "broker_wildcard",
    "dlq_subject",
    "control_subject",
    "control_wildcard",
    "alert_subject",
    "audit_subject",
    "stream_for_broker",
    "stream_for_subject",
    "topic_for_subject",
    "subject_for_topic",
    "parse_broker",
    "durable_name",
]

Broker = Literal["paper", "zerodha"]
BROKERS: Final[tuple[Broker, ...]] = get_args(Broker)


class Area(StrEnum):
    SIGNALS = "signals"
    ORDERS = "orders"
    PNL = "pnl"


@dataclass(frozen=True, slots=True)
class PerBrokerEvent:
    """One kind of per-broker event: `<broker>.<area>.<event>`."""

    area: Area
    event: str

    def subject(self, broker: Broker) -> str:
        return f"{broker}.{self.area}.{self.event}"


SIGNALS_RAW: Final = PerBrokerEvent(Area.SIGNALS, "raw")
SIGNALS_VALIDATED: Final = PerBrokerEvent(Area.SIGNALS, "validated")
SIGNALS_REJECTED: Final = PerBrokerEvent(Area.SIGNALS, "rejected")
ORDERS_SUBMITTED: Final = PerBrokerEvent(Area.ORDERS, "submitted")
ORDERS_ACCEPTED: Final = PerBrokerEvent(Area.ORDERS, "accepted")
ORDERS_FILLED: Final = PerBrokerEvent(Area.ORDERS, "filled")
ORDERS_FAILED: Final = PerBrokerEvent(Area.ORDERS, "failed")
ORDERS_CANCELLED: Final = PerBrokerEvent(Area.ORDERS, "cancelled")
PNL_SNAPSHOTS: Final = PerBrokerEvent(Area.PNL, "snapshots")
PER_BROKER_EVENTS: Final[tuple[PerBrokerEvent, ...]] = (
    SIGNALS_RAW,
    SIGNALS_VALIDATED,
    SIGNALS_REJECTED,
    ORDERS_SUBMITTED,
    ORDERS_ACCEPTED,
    ORDERS_FILLED,
    ORDERS_FAILED,
    ORDERS_CANCELLED,
    PNL_SNAPSHOTS,
)


class ControlVerb(StrEnum):
    HALT = "halt"
    RESUME = "resume"
    REDUCE = "reduce"
    #: restart one actor by name (the command's `actor`); no change of trading state
    RESTART = "restart"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A JetStream stream and the subjects it captures."""

    name: str
    subjects: tuple[str, ...]
    broker: Broker | None = None


TICK_PREFIX: Final = "market.ticks."
MARKET_TICKS_ALL: Final = TICK_PREFIX + ">"

# Request/reply subjects (core NATS, not captured by any stream).
STATUS_SUBJECT: Final = "alpha.status"
CONTROL_REQUEST_SUBJECT: Final = "alpha.control"
REPLAY_REQUEST_SUBJECT: Final = "alpha.replay"  # consent to a replay or re-drive

# JetStream KV buckets: actors' snapshots, and the leases of a broker's stateful roles.
STATE_BUCKET: Final = "alpha_state"
LEASE_BUCKET: Final = "alpha_leases"

MARKET_STREAM: Final = StreamSpec("MARKET", ("market.>",))
PAPER_STREAM: Final = StreamSpec("PAPER", ("paper.>",), broker="paper")
ZERODHA_STREAM: Final = StreamSpec("ZERODHA", ("zerodha.>",), broker="zerodha")
DLQ_STREAM: Final = StreamSpec("DLQ", ("dlq.>",))
CONTROL_STREAM: Final = StreamSpec("CONTROL", ("control.>",))
ALERTS_STREAM: Final = StreamSpec("ALERTS", ("alerts.>",))
AUDIT_STREAM: Final = StreamSpec("AUDIT", ("audit.>",))

STREAMS: Final[dict[str, StreamSpec]] = {
    spec.name: spec
    for spec in (
        MARKET_STREAM,
        PAPER_STREAM,
        ZERODHA_STREAM,
        DLQ_STREAM,
        CONTROL_STREAM,
        ALERTS_STREAM,
        AUDIT_STREAM,
    )
}

_PREFIX_STREAM: Final[dict[str, str]] = {
    spec.subjects[0].split(".", 1)[0]: spec.name for spec in STREAMS.values()
}

# Kafka topics (the bridge): per-broker events keep their subject as the topic name.
TICKS_TOPIC: Final = "market.ticks"
CONTROL_TOPIC: Final = "control.events"
ALERTS_TOPIC: Final = "alerts"
AUDIT_TOPIC: Final = "audit"
DLQ_TOPIC_SUFFIX: Final = ".dlq"
# Where the bridge parks a message whose subject maps to no topic.
UNROUTABLE_TOPIC: Final = "unroutable" + DLQ_TOPIC_SUFFIX


def _check_token(token: str, what: str) -> str:
    if not token or any(c in token for c in " .*>\t\r\n"):
        raise ValueError(
            f"invalid {what} {token!r}: must be non-empty, without spaces, '.', '*' or '>'"
        )
    return token


def parse_broker(value: str) -> Broker:
    """Validate a broker name, naming the accepted ones on error."""
    if value not in BROKERS:
        raise ValueError(f"unknown broker {value!r}; expected one of {', '.join(BROKERS)}")
    return value  # type: ignore[return-value,unused-ignore]


def tick_subject(instrument_token: int) -> str:
    if instrument_token <= 0:
        raise ValueError(f"instrument token must be positive, got {instrument_token}")
    return f"{TICK_PREFIX}{instrument_token}"


def token_of_tick_subject(subject: str) -> int:
    prefix, _, token = subject.rpartition(".")
    if prefix != "market.ticks" or not token.isdigit():
        raise ValueError(f"not a tick subject: {subject!r}")
    return int(token)


def portfolio_request_subject(broker: Broker) -> str:
    """Where a broker's portfolio answers requests for its current PnL snapshot."""
    return f"alpha.portfolio.{parse_broker(broker)}"


def broker_subject(broker: Broker, event: PerBrokerEvent) -> str:
    return event.subject(parse_broker(broker))


def broker_wildcard(broker: Broker, area: Area | None = None) -> str:
    parse_broker(broker)
    return f"{broker}.{area}.>" if area else f"{broker}.>"


def dlq_subject(subject: str) -> str:
    return f"dlq.{subject}"


def control_subject(verb: ControlVerb, broker: Broker | None = None) -> str:
    return f"control.{verb}.{parse_broker(broker)}" if broker else f"control.{verb}"


def control_wildcard() -> str:
    return "control.>"


def alert_subject(severity: str) -> str:
    return f"alerts.{_check_token(severity, 'alert severity')}"


def audit_subject(kind: str) -> str:
    return f"audit.{_check_token(kind, 'audit kind')}"


def kv_stream(bucket: str) -> str:
    """The JetStream stream that holds a KV bucket."""
    return f"KV_{bucket}"


def kv_subject(bucket: str, key: str = ">") -> str:
    """The subject a KV bucket stores `key` under (default: every key)."""
    return f"$KV.{bucket}.{key}"


def lease_key(broker: Broker) -> str:
    """The key of a broker's lease in `LEASE_BUCKET`: whoever holds it runs its stateful roles."""
    return f"broker-{parse_broker(broker)}"


def stream_for_broker(broker: Broker) -> StreamSpec:
    return STREAMS[parse_broker(broker).upper()]


def stream_for_subject(subject: str) -> StreamSpec:
    head = subject.split(".", 1)[0]
    try:
        return STREAMS[_PREFIX_STREAM[head]]
    except KeyError:
        raise ValueError(f"no stream captures subject {subject!r}") from None


def topic_for_subject(subject: str) -> tuple[str, str]:
    """Map a NATS subject to its Kafka (topic, key) per DESIGN.md's naming table.

    Ticks go to one topic keyed by instrument token; per-broker events keep their subject
    as the topic name; dead letters go to `<original topic>.dlq`.
    """
    head, _, rest = subject.partition(".")
    if head == "market":
        if subject.startswith(TICK_PREFIX):
            return TICKS_TOPIC, subject[len(TICK_PREFIX) :]
        return f"market.{rest.split('.', 1)[0]}", rest
    if head in BROKERS:
        return subject, ""
    if head == "dlq":
        topic, key = topic_for_subject(rest)
        return topic + DLQ_TOPIC_SUFFIX, key
    if head == "control":
        return CONTROL_TOPIC, rest
    if head == "alerts":
        return ALERTS_TOPIC, rest
    if head == "audit":
        return AUDIT_TOPIC, rest
    raise ValueError(f"no topic for subject {subject!r}")


def subject_for_topic(topic: str, key: str) -> str | None:
    """The subject a record of `topic` keyed `key` came from, when name and key tell it
    (the inverse of `topic_for_subject`); None when they do not."""
    if topic == TICKS_TOPIC and key:
        return TICK_PREFIX + key
    if topic == CONTROL_TOPIC and key:
        return f"control.{key}"
    if topic in (ALERTS_TOPIC, AUDIT_TOPIC) and key:
        return f"{topic}.{key}"
    if topic.count(".") == 2:  # per-broker events keep their subject as the topic name
        return topic
    return None


def durable_name(actor: str, broker: Broker | None = None) -> str:
    """A JetStream durable consumer name for an actor (names may not contain '.')."""
    base = actor.replace(".", "-").replace(" ", "-")
    return f"{base}-{broker}" if broker else base
