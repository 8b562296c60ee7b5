"""The permission table: NATS wildcard matching, and what each role may do."""

from __future__ import annotations

import pytest

from schemas.grants import subject_matches
from schemas.names import (
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    ORDERS_FILLED,
    SIGNALS_RAW,
    SIGNALS_VALIDATED,
    STATUS_SUBJECT,
    STREAMS,
    ControlVerb,
    audit_subject,
    broker_subject,
    control_subject,
    tick_subject,
)
from schemas.permissions import (
    APP,
    OPERATOR,
    ROLES,
    USERS,
    permission_table,
    process_user,
    role_permissions,
    user_permissions,
)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("*.b", "a.b", True),
        ("a.b", "a.b.c", False),
        (">", "anything.at.all", True),
    ],
)
def test_subjects_match_as_nats_matches_them(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


def test_only_the_feed_publishes_ticks() -> None:
    table = permission_table()
    allowed = {u for u in ROLES if table[u].may_publish(tick_subject(1))}
    assert allowed == {"feed", "control"}, "control only for replays, behind the token"


def test_each_per_broker_hop_is_published_by_its_own_role() -> None:
    for broker in BROKERS:
        raw, validated = (
            broker_subject(broker, SIGNALS_RAW),
            broker_subject(broker, SIGNALS_VALIDATED),
        )
        filled = broker_subject(broker, ORDERS_FILLED)
        assert role_permissions("strategies").may_publish(raw)
        assert not role_permissions("strategies").may_publish(validated)
        assert role_permissions("risk").may_publish(validated)
        assert not role_permissions("risk").may_publish(filled)
        assert role_permissions("execution").may_publish(filled)
        assert not role_permissions("portfolio").may_publish(filled)


def test_only_control_changes_trading_state_but_a_broker_subtree_may_halt_its_broker() -> None:
    resume = control_subject(ControlVerb.RESUME, "paper")
    halt = control_subject(ControlVerb.HALT, "paper")
    assert [r for r in ROLES if role_permissions(r).may_publish(resume)] == ["control"]
    assert role_permissions("risk").may_publish(halt)
    assert not role_permissions("feed").may_publish(halt)
    assert not role_permissions("risk").may_publish(
        control_subject(ControlVerb.HALT, "zerodha") + ".x"
    )


def test_every_role_answers_status_and_reports_violations_but_only_control_serves_requests() -> (
    None
):
    for role in ROLES:
        perms = role_permissions(role)
        assert perms.may_subscribe(STATUS_SUBJECT)
        assert perms.may_publish(audit_subject("security"))
        assert perms.may_subscribe(f"_INBOX.{role}.abc") and not perms.may_subscribe("_INBOX.x.abc")
        assert perms.may_subscribe(CONTROL_REQUEST_SUBJECT) is (role == "control")


def test_only_control_and_the_operator_manage_streams() -> None:
    table = permission_table()
    assert [u for u, p in table.items() if p.manages_streams] == ["control", APP, OPERATOR]
    assert not table["owner"].manages_streams
    assert set(role_permissions("feed").streams_read) == {"MARKET"}
    assert set(role_permissions("control").streams_read) == set(STREAMS)


def test_a_process_of_several_roles_is_app_with_exactly_their_union() -> None:
    assert process_user(("risk",)) == "risk"
    assert process_user(("risk", "execution")) == APP
    app = user_permissions(APP, ("risk", "execution"))
    for role in ("risk", "execution"):
        assert set(role_permissions(role).publish) <= set(app.publish)
    assert not app.may_publish(tick_subject(1))
    assert set(permission_table(("feed",))[APP].publish) == set(role_permissions("feed").publish)


def test_the_table_has_one_user_per_role_plus_owner_app_and_operator() -> None:
    assert tuple(permission_table()) == USERS
    assert len(USERS) == len(ROLES) + 3


def test_a_brokers_stateful_roles_together_are_the_owner_and_nothing_more() -> None:
    assert process_user(("risk", "portfolio", "execution")) == "owner"
    owner = permission_table()["owner"]
    assert not owner.may_publish(tick_subject(1)) and not owner.may_publish(
        broker_subject("paper", SIGNALS_RAW)
    )
    assert owner.may_publish(broker_subject("paper", ORDERS_FILLED))


def test_the_catalogue_says_which_stream_subjects_each_role_consumes() -> None:
    assert role_permissions("strategies").consumes == ("market.ticks.>",)
    risk = role_permissions("risk")
    assert risk.may_consume("paper.signals.raw") and risk.may_consume("control.>")
    assert not risk.may_consume("paper.signals.validated")
    assert role_permissions("execution").may_consume("paper.signals.validated")
    assert not role_permissions("feed").consumes
    assert role_permissions("bridge").may_consume("market.>")


@pytest.mark.parametrize(
    ("pattern", "subjects", "expected"),
    [("market.>", "market.ticks.>", True), ("market.ticks.*", "market.ticks.>", False),
     ("a.*", "a.*", True), ("a.b", "a.*", False), ("control.>", "control.halt.paper", True)],
)  # fmt: skip
def test_a_pattern_covers_a_wildcard_only_when_it_matches_all_it_can_match(
    pattern: str, subjects: str, expected: bool
) -> None:
    from schemas.grants import subject_covers

    assert subject_covers(pattern, subjects) is expected


def test_every_process_hears_an_operator_restart_but_only_control_publishes_it() -> None:
    restart = control_subject(ControlVerb.RESTART)
    for user, perms in permission_table().items():
        assert perms.may_subscribe(restart), user
    assert [r for r in ROLES if role_permissions(r).may_publish(restart)] == ["control"]
