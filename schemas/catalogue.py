"""The message catalogue: which event type travels where, under which Avro schema.

One row per event type: its struct, the per-broker event (`<broker>.<area>.<event>`) or
the shared Kafka topic it travels on, and its Avro schema name (the struct's `TYPE`, the
file `schemas/avro/<TYPE>.avsc`). Names themselves are spelled in `schemas.names`; this
table only joins them to the structs. To add an event: write its struct in
`schemas.events` (with its tag), add it to `EVENT_TYPES`, give it a row here, and run
`alpha-panda schemas export`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.events import (
    Alert,
    AuditEvent,
    ControlCommand,
    DeadLetter,
    Event,
    Heartbeat,
    MarketTick,
    OrderAccepted,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
    PnlSnapshot,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)
from schemas.names import (
    ALERTS_TOPIC,
    AUDIT_TOPIC,
    BROKERS,
    CONTROL_TOPIC,
    ORDERS_ACCEPTED,
    ORDERS_CANCELLED,
    ORDERS_FAILED,
    ORDERS_FILLED,
    ORDERS_SUBMITTED,
    PER_BROKER_EVENTS,
    PNL_SNAPSHOTS,
    SIGNALS_RAW,
    SIGNALS_REJECTED,
    SIGNALS_VALIDATED,
    TICKS_TOPIC,
    PerBrokerEvent,
)

__all__ = ["Entry", "CATALOGUE", "entry_for", "per_broker_event", "topic_event_types"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One event type: where it travels and the Avro schema it is governed by.

    `per_broker` for events of a broker's namespace (their topic is their subject);
    `topic` for shared ones; neither for events without a topic of their own (dead
    letters go to `dlq.<subject>` / `<topic>.dlq`, heartbeats are not mirrored).
    """

    event: type[Event]
    per_broker: PerBrokerEvent | None = None
    topic: str | None = None

    @property
    def schema_name(self) -> str:
        return self.event.TYPE


CATALOGUE: Final[tuple[Entry, ...]] = (
    Entry(MarketTick, topic=TICKS_TOPIC),
    Entry(TradingSignal, per_broker=SIGNALS_RAW),
    Entry(ValidatedSignal, per_broker=SIGNALS_VALIDATED),
    Entry(RejectedSignal, per_broker=SIGNALS_REJECTED),
    Entry(OrderSubmitted, per_broker=ORDERS_SUBMITTED),
    Entry(OrderAccepted, per_broker=ORDERS_ACCEPTED),
    Entry(OrderFilled, per_broker=ORDERS_FILLED),
    Entry(OrderFailed, per_broker=ORDERS_FAILED),
    Entry(OrderCancelled, per_broker=ORDERS_CANCELLED),
    Entry(PnlSnapshot, per_broker=PNL_SNAPSHOTS),
    Entry(ControlCommand, topic=CONTROL_TOPIC),
    Entry(Alert, topic=ALERTS_TOPIC),
    Entry(AuditEvent, topic=AUDIT_TOPIC),
    Entry(DeadLetter),
    Entry(Heartbeat),
)

_BY_EVENT: Final[dict[type[Event], Entry]] = {e.event: e for e in CATALOGUE}
_BY_PER_BROKER: Final[dict[PerBrokerEvent, Entry]] = {
    e.per_broker: e for e in CATALOGUE if e.per_broker is not None
}


def entry_for(event: type[Event]) -> Entry:
    try:
        return _BY_EVENT[event]
    except KeyError:
        raise ValueError(
            f"{event.__name__} has no row in schemas.catalogue.CATALOGUE; add one"
        ) from None


def per_broker_event(event: type[Event]) -> PerBrokerEvent:
    """The per-broker event a struct is published as (`<broker>.<area>.<event>`)."""
    kind = entry_for(event).per_broker
    if kind is None:
        raise ValueError(f"{event.__name__} is not a per-broker event")
    return kind


def topic_event_types() -> dict[str, str]:
    """Every topic of the catalogue → the Avro schema name of the event type it carries:
    the shared topics first, then each broker's events in `PER_BROKER_EVENTS` order."""
    shared = {e.topic: e.schema_name for e in CATALOGUE if e.topic is not None}
    per_broker = {
        kind.subject(broker): _BY_PER_BROKER[kind].schema_name
        for broker in BROKERS
        for kind in PER_BROKER_EVENTS
    }
    return shared | per_broker
