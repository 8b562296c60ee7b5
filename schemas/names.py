"""Subject, stream and topic names: the only place they are spelled out.

Every other module builds names through these helpers, so a rename is one edit and a
typo is an import error rather than a message that silently goes nowhere.
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
    "STREAMS",
    "ControlVerb",
    "STATUS_SUBJECT",
    "CONTROL_REQUEST_SUBJECT",
    "STATE_BUCKET",
    "LEASE_BUCKET",
    "portfolio_request_subject",
    "kv_stream",
    "kv_subject",
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


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A JetStream stream and the subjects it captures."""

    name: str
    subjects: tuple[str, ...]
    broker: Broker | None = None


TICK_PREFIX: Final = "market.ticks."
MARKET_TICKS_ALL: Final = TICK_PREFIX + ">"
STATUS_SUBJECT: Final = "alpha.status"
CONTROL_REQUEST_SUBJECT: Final = "alpha.control"
STATE_BUCKET: Final = "alpha_state"
LEASE_BUCKET: Final = "alpha_leases"

STREAMS: Final[dict[str, StreamSpec]] = {
    "MARKET": StreamSpec("MARKET", ("market.>",)),
    "PAPER": StreamSpec("PAPER", ("paper.>",), broker="paper"),
    "ZERODHA": StreamSpec("ZERODHA", ("zerodha.>",), broker="zerodha"),
    "DLQ": StreamSpec("DLQ", ("dlq.>",)),
    "CONTROL": StreamSpec("CONTROL", ("control.>",)),
    "ALERTS": StreamSpec("ALERTS", ("alerts.>",)),
    "AUDIT": StreamSpec("AUDIT", ("audit.>",)),
}

_PREFIX_STREAM: Final[dict[str, str]] = {
    "market": "MARKET",
    "paper": "PAPER",
    "zerodha": "ZERODHA",
    "dlq": "DLQ",
    "control": "CONTROL",
    "alerts": "ALERTS",
    "audit": "AUDIT",
}


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


def portfolio_request_subject(broker: Broker) -> str:
    """Request/reply: the portfolio actor of `broker` answers with its PnL snapshot."""
    return f"alpha.portfolio.{parse_broker(broker)}"


def kv_stream(bucket: str) -> str:
    """The JetStream stream that holds a KV bucket."""
    return f"KV_{bucket}"


def kv_subject(bucket: str, key: str = ">") -> str:
    """The subject a KV bucket stores `key` under (default: every key)."""
    return f"$KV.{bucket}.{key}"


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
        if rest.startswith("ticks."):
            return "market.ticks", rest[len("ticks.") :]
        return f"market.{rest.split('.', 1)[0]}", rest
    if head in BROKERS:
        return subject, ""
    if head == "dlq":
        topic, key = topic_for_subject(rest)
        return f"{topic}.dlq", key
    if head == "control":
        return "control.events", rest
    if head == "alerts":
        return "alerts", rest
    if head == "audit":
        return "audit", rest
    raise ValueError(f"no topic for subject {subject!r}")


def durable_name(actor: str, broker: Broker | None = None) -> str:
    """A JetStream durable consumer name for an actor (names may not contain '.')."""
    base = actor.replace(".", "-").replace(" ", "-")
    return f"{base}-{broker}" if broker else base
