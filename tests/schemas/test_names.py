"""Subject, stream and topic routing for both brokers and the shared market subjects."""

from __future__ import annotations

import pytest

from schemas.names import (
    ALERTS_STREAM,
    AUDIT_STREAM,
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    CONTROL_STREAM,
    DLQ_STREAM,
    LEASE_BUCKET,
    MARKET_STREAM,
    ORDERS_FILLED,
    PAPER_STREAM,
    SIGNALS_RAW,
    STATE_BUCKET,
    STREAMS,
    UNROUTABLE_TOPIC,
    ZERODHA_STREAM,
    ControlVerb,
    broker_subject,
    control_subject,
    dlq_subject,
    portfolio_request_subject,
    stream_for_subject,
    tick_subject,
    token_of_tick_subject,
    topic_for_subject,
)


@pytest.mark.parametrize("broker", BROKERS)
def test_per_broker_events_live_in_the_brokers_own_namespace_and_stream(broker: str) -> None:
    subject = broker_subject(broker, ORDERS_FILLED)  # type: ignore[arg-type]
    assert subject == f"{broker}.orders.filled"
    assert stream_for_subject(subject).name == broker.upper()
    assert topic_for_subject(subject) == (subject, "")


def test_brokers_never_share_a_subject() -> None:
    paper = {broker_subject("paper", e) for e in (SIGNALS_RAW, ORDERS_FILLED)}
    zerodha = {broker_subject("zerodha", e) for e in (SIGNALS_RAW, ORDERS_FILLED)}
    assert paper.isdisjoint(zerodha)


def test_ticks_are_shared_market_subjects_keyed_by_token() -> None:
    subject = tick_subject(738561)
    assert subject == "market.ticks.738561"
    assert token_of_tick_subject(subject) == 738561
    assert stream_for_subject(subject).name == "MARKET"
    assert topic_for_subject(subject) == ("market.ticks", "738561")


def test_dead_letters_keep_the_original_subject_and_map_to_the_dlq_twin_topic() -> None:
    subject = dlq_subject("paper.orders.filled")
    assert subject == "dlq.paper.orders.filled"
    assert stream_for_subject(subject).name == "DLQ"
    assert topic_for_subject(subject) == ("paper.orders.filled.dlq", "")
    assert topic_for_subject(dlq_subject(tick_subject(5))) == ("market.ticks.dlq", "5")


def test_control_subjects_per_broker_or_for_all() -> None:
    assert control_subject(ControlVerb.HALT, "paper") == "control.halt.paper"
    assert control_subject(ControlVerb.RESUME) == "control.resume"
    assert stream_for_subject("control.halt.paper").name == "CONTROL"
    assert topic_for_subject("control.halt.paper")[0] == "control.events"


def test_bad_names_are_refused_with_the_accepted_values() -> None:
    with pytest.raises(ValueError, match="expected one of paper, zerodha"):
        broker_subject("kraken", ORDERS_FILLED)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be positive"):
        tick_subject(0)
    with pytest.raises(ValueError, match="no stream captures"):
        stream_for_subject("nowhere.at.all")


def test_request_subjects_and_buckets_are_named_once_here() -> None:
    assert portfolio_request_subject("zerodha") == "alpha.portfolio.zerodha"
    with pytest.raises(ValueError, match="unknown broker 'kite'; expected one of paper, zerodha"):
        portfolio_request_subject("kite")  # type: ignore[arg-type]
    assert (CONTROL_REQUEST_SUBJECT, STATE_BUCKET, LEASE_BUCKET) == (
        "alpha.control",
        "alpha_state",
        "alpha_leases",
    )


def test_every_stream_constant_is_in_the_stream_table_under_its_name() -> None:
    specs = (MARKET_STREAM, PAPER_STREAM, ZERODHA_STREAM, DLQ_STREAM, CONTROL_STREAM,
             ALERTS_STREAM, AUDIT_STREAM)  # fmt: skip
    assert list(STREAMS.values()) == list(specs)
    for spec in specs:
        assert stream_for_subject(spec.subjects[0].replace(">", "x")) is spec
    assert UNROUTABLE_TOPIC == "unroutable.dlq"
