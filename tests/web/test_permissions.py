"""A split deployment's web process connects as the `web` user: every read the pages make
and every request they forward is in its grants, and it may not publish a command itself
(control goes through the gate, which checks the caller's token)."""

from __future__ import annotations

from schemas.names import (
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    DLQ_STREAM,
    REPLAY_REQUEST_SUBJECT,
    STATUS_SUBJECT,
    STREAMS,
    ControlVerb,
    broker_subject,
    control_subject,
    dlq_subject,
    portfolio_request_subject,
    stream_for_broker,
    tick_subject,
)
from schemas.permissions import role_permissions
from web.backend import ORDER_EVENTS

WEB = role_permissions("web")


def test_the_web_user_may_ask_for_status_control_and_consent() -> None:
    for subject in (STATUS_SUBJECT, CONTROL_REQUEST_SUBJECT, REPLAY_REQUEST_SUBJECT):
        assert WEB.may_publish(subject), subject


def test_the_web_user_may_read_the_dead_letters_and_every_streams_info() -> None:
    assert WEB.may_publish(f"$JS.API.CONSUMER.CREATE.{DLQ_STREAM.name}")
    assert WEB.may_publish(f"$JS.API.STREAM.MSG.GET.{DLQ_STREAM.name}")
    assert WEB.may_consume(dlq_subject(tick_subject(341249)))
    assert all(WEB.may_publish(f"$JS.API.STREAM.INFO.{s}") for s in STREAMS)


def test_the_web_user_reads_each_brokers_portfolio_and_orders_but_commands_nothing() -> None:
    for b in BROKERS:
        assert WEB.may_publish(portfolio_request_subject(b))
        assert WEB.may_publish(f"$JS.API.CONSUMER.CREATE.{stream_for_broker(b).name}")
        assert all(WEB.may_consume(broker_subject(b, e)) for e in ORDER_EVENTS)
        assert not WEB.may_publish(control_subject(ControlVerb.HALT, b))
        assert not WEB.may_publish(broker_subject(b, ORDER_EVENTS[0]))
