"""The message catalogue: one row per event type, and names spelled only in schemas/.

The scan reads every module outside `schemas/` that builds or reads messages and fails on
a string constant that spells a subject, a stream, a KV bucket, a topic or an event type.
Docstrings and comments are prose and may name them; code goes through `schemas.names`
and `schemas.catalogue` instead (a constant there, or a helper that builds the name).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from schemas.avro import TOPIC_EVENT_TYPES, event_type_for_topic
from schemas.catalogue import CATALOGUE, entry_for, per_broker_event
from schemas.events import EVENT_TYPES, MarketTick, OrderFilled, TradingSignal
from schemas.names import (
    BROKERS,
    ORDERS_FILLED,
    PER_BROKER_EVENTS,
    SIGNALS_RAW,
    STREAMS,
    TICKS_TOPIC,
    broker_subject,
    subject_for_topic,
    topic_for_subject,
)

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("actors", "supervisors", "ops", "bridge", "web")

# A subject or event type starts with one of these heads; stream names are whole strings.
_NAME_HEADS = ("market", "paper", "zerodha", "dlq", "control", "alerts", "audit", "alpha")
_SPELLED = re.compile(
    rf"^(?:{'|'.join(_NAME_HEADS)})\."
    rf"|^(?:{'|'.join(STREAMS)})$"
    r"|alpha_state|alpha_leases"
)


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring constants of a module, its classes and functions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def spelled_names(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant in `source` that spells a catalogue name.

    f-string pieces count (`f"alpha.portfolio.{b}"` holds the constant "alpha.portfolio.").
    """
    tree = ast.parse(source)
    prose = _docstrings(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in prose
        and _SPELLED.search(node.value)
    )


def test_no_module_outside_schemas_spells_a_subject_stream_bucket_or_topic() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, text in spelled_names(path.read_text())
    ]
    assert not found, (
        "names spelled outside schemas/ (use schemas.names / schemas.catalogue):\n"
        + "\n".join(found)
    )


def test_the_scan_sees_code_but_not_prose() -> None:
    source = '''
"""Ticks arrive on market.ticks.<token> in the MARKET stream."""
# control.halt is published by the gate
SUBJECT = "alpha.control"
def f(broker):
    """Reads alpha_state."""
    return f"alpha.portfolio.{broker}", "MARKET", "alpha_leases", "market.tick"
QUIET = ("paper", "MARKETS", "alerts", "audit", "marketplace.x")
'''
    assert [line for line, _ in spelled_names(source)] == [4, 7, 7, 7, 7]


def test_every_event_type_has_exactly_one_row() -> None:
    events = [entry.event for entry in CATALOGUE]
    assert sorted(e.TYPE for e in events) == sorted(EVENT_TYPES)
    assert len(events) == len(set(events))


def test_every_per_broker_event_has_exactly_one_event_type() -> None:
    kinds = [entry.per_broker for entry in CATALOGUE if entry.per_broker is not None]
    assert sorted(kinds, key=str) == sorted(PER_BROKER_EVENTS, key=str)
    assert per_broker_event(OrderFilled) is ORDERS_FILLED
    assert per_broker_event(TradingSignal) is SIGNALS_RAW


def test_a_struct_without_a_per_broker_subject_says_so() -> None:
    with pytest.raises(ValueError, match="MarketTick is not a per-broker event"):
        per_broker_event(MarketTick)


def test_each_topic_carries_the_schema_of_its_row() -> None:
    assert entry_for(MarketTick).topic == TICKS_TOPIC
    assert TOPIC_EVENT_TYPES[TICKS_TOPIC] == MarketTick.TYPE == entry_for(MarketTick).schema_name
    for broker in BROKERS:
        for kind in PER_BROKER_EVENTS:
            subject = broker_subject(broker, kind)
            topic, _ = topic_for_subject(subject)
            row = next(e for e in CATALOGUE if e.per_broker is kind)
            assert event_type_for_topic(topic) == row.schema_name
            assert (ROOT / "schemas" / "avro" / f"{row.schema_name}.avsc").is_file()


def test_a_record_subject_is_recovered_from_its_topic_and_key() -> None:
    for subject in ("market.ticks.408065", "control.halt.paper", "alerts.critical", "audit.login",
                    broker_subject("zerodha", ORDERS_FILLED)):  # fmt: skip
        topic, key = topic_for_subject(subject)
        assert subject_for_topic(topic, key) == subject
    assert subject_for_topic(TICKS_TOPIC, "") is None
