"""The authenticated bus, against a real nats-server started with the generated config.

One table-driven test walks every user and every subject family the names module spells:
the server must allow exactly what `schemas.permissions` says, and refuse the rest.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from nats.errors import NoRespondersError

from ops.bootstrap import bootstrap_streams
from schemas.envelope import decode_as
from schemas.events import AuditEvent
from schemas.grants import Permissions
from schemas.names import (
    BROKERS,
    CONTROL_REQUEST_SUBJECT,
    LEASE_BUCKET,
    PER_BROKER_EVENTS,
    STATE_BUCKET,
    STATUS_SUBJECT,
    STREAMS,
    ControlVerb,
    alert_subject,
    audit_subject,
    broker_subject,
    control_subject,
    dlq_subject,
    durable_name,
    kv_subject,
    portfolio_request_subject,
    tick_subject,
)
from schemas.permissions import (
    OPERATOR,
    ROLES,
    USERS,
    bridge_durable,
    permission_table,
)
from supervisors.bus import Bus
from supervisors.errors import ConnectFailed, CredentialsError
from supervisors.nats_auth import NatsAuth, UserStore, authorization_block
from tests.conftest import NatsServer


@dataclass
class Guarded:
    server: NatsServer
    store: UserStore
    table: dict[str, Permissions]
    dir: Path

    def auth(self, user: str) -> NatsAuth:
        return self.store.auth_for(user)

    async def connect(self, user: str) -> Bus:
        return await Bus.connect(self.server.url, name=f"test:{user}", auth=self.auth(user))


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    d = tmp_path_factory.mktemp("auth")
    store = UserStore(d / "nats-users.json", cost=4)  # the server checks it at every connect
    table = permission_table()
    known = store.ensure(USERS)
    conf = d / "server.conf"
    conf.write_text(authorization_block(table, {u: known[u].bcrypt_hash for u in table}))
    server = NatsServer(conf)
    server.start()
    guarded = Guarded(server, store, table, d)

    async def bootstrap() -> None:
        bus = await guarded.connect(OPERATOR)
        await bootstrap_streams(bus, "test")
        await bus.close()

    asyncio.run(bootstrap())
    yield guarded
    server.cleanup()


def _publish_samples() -> list[str]:
    """One subject of every family the names module spells, and the JetStream API's."""
    subjects = [tick_subject(1), STATUS_SUBJECT, CONTROL_REQUEST_SUBJECT, alert_subject("critical")]
    subjects += [audit_subject(k) for k in ("control", "redrive", "security", "config")]
    subjects += [dlq_subject(tick_subject(1)), dlq_subject(control_subject(ControlVerb.HALT))]
    subjects += [control_subject(v) for v in ControlVerb]
    for broker in BROKERS:
        subjects += [broker_subject(broker, e) for e in PER_BROKER_EVENTS]
        subjects += [control_subject(v, broker) for v in ControlVerb]
        subjects += [dlq_subject(broker_subject(broker, e)) for e in PER_BROKER_EVENTS[:2]]
        subjects.append(portfolio_request_subject(broker))
        for role in ROLES:
            durable = durable_name(role, broker)
            subjects += [
                kv_subject(STATE_BUCKET, durable),
                f"$JS.API.CONSUMER.MSG.NEXT.{broker.upper()}.{durable}",
                f"$JS.ACK.{broker.upper()}.{durable}.1.1.1.1.1",
            ]
    subjects.append(kv_subject(LEASE_BUCKET, "paper"))
    for stream in STREAMS:
        subjects += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.STREAM.UPDATE.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{bridge_durable(stream)}",
        ]
    subjects += ["$JS.API.STREAM.DELETE.NO_SUCH_STREAM", "$JS.API.INFO", "$SYS.REQ.SERVER.PING"]
    subjects += ["anything.else", "_INBOX.someone.else"]
    return list(dict.fromkeys(subjects))


def _subscribe_samples(user: str) -> list[str]:
    subjects = [STATUS_SUBJECT, CONTROL_REQUEST_SUBJECT, tick_subject(1), "market.>", "paper.>"]
    subjects += [portfolio_request_subject(b) for b in BROKERS]
    subjects += [f"_INBOX.{user}.abc", "_INBOX.someone.abc", "_INBOX.>", audit_subject("control")]
    return subjects


_SENTINEL = "zz.sentinel"  # refused to every user but the operator


async def _refusals(bus: Bus, action: str, subjects: list[str]) -> set[str]:
    """The subjects the server refused. Its -ERRs keep their order but may trail the PONG of
    a flush, so a last request refused to everyone marks the end of the answers."""
    for subject in [*subjects, _SENTINEL]:
        if action == "publish":
            await bus.core_publish(subject, b"")
        else:
            await bus.nc.subscribe(subject)
    await bus.nc.flush()
    if bus.security.user != OPERATOR:
        async with asyncio.timeout(5):
            while (action, _SENTINEL) not in bus.security.recent:
                await asyncio.sleep(0.01)
    return {s for kind, s in bus.security.recent if kind == action and s != _SENTINEL}


@pytest.mark.parametrize("user", USERS)
async def test_each_user_may_publish_and_subscribe_exactly_what_the_table_says(
    guarded: Guarded, user: str
) -> None:
    perms = guarded.table[user]
    bus = await guarded.connect(user)
    wrong = []
    try:
        refused = await _refusals(bus, "publish", _publish_samples())
        for subject in _publish_samples():
            if (subject.lower() in refused) is perms.may_publish(subject):
                wrong.append(f"publish {subject}: table says {perms.may_publish(subject)}")
        refused = await _refusals(bus, "subscribe", _subscribe_samples(user))
        for subject in _subscribe_samples(user):
            if (subject.lower() in refused) is perms.may_subscribe(subject):
                wrong.append(f"subscribe {subject}: table says {perms.may_subscribe(subject)}")
    finally:
        await bus.close()
    assert wrong == [], f"user {user}: the server disagrees with the table"


async def test_the_table_allows_and_denies_something_for_every_role(guarded: Guarded) -> None:
    samples = _publish_samples()
    for role in ROLES:
        verdicts = {guarded.table[role].may_publish(s) for s in samples}
        assert verdicts == {True, False}, f"{role} allows everything or nothing"


async def test_a_client_without_credentials_is_refused_at_connect(guarded: Guarded) -> None:
    with pytest.raises(ConnectFailed, match="refused the credentials"):
        await Bus.connect(guarded.server.url)
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(guarded.server.url, allow_reconnect=False, connect_timeout=3)


async def test_a_wrong_password_fails_at_once_instead_of_retrying(guarded: Guarded) -> None:
    from supervisors.nats_auth import Secret

    wrong = NatsAuth(user="feed", password=Secret("not-the-password"))
    async with asyncio.timeout(5):
        with pytest.raises(ConnectFailed) as caught:
            await Bus.connect(guarded.server.url, auth=wrong)
    assert "not-the-password" not in str(caught.value)


async def test_a_violation_is_counted_and_recorded_on_audit_security(guarded: Guarded) -> None:
    bus = await guarded.connect("feed")
    forged = broker_subject("paper", PER_BROKER_EVENTS[1])
    try:
        await bus.core_publish(forged, b"{}")
        async with asyncio.timeout(5):
            while not bus.security.violations:
                await asyncio.sleep(0.01)
        assert bus.security.violations == 1
        assert bus.security.status()["last_violation"]["subject"] == forged
    finally:
        await bus.close()  # waits for the audit in flight
    operator = await guarded.connect(OPERATOR)
    try:
        events = [
            decode_as(m.data, AuditEvent).data
            async for m in operator.replay("AUDIT", [audit_subject("security")], 1)
            if m.data  # the table test's probes publish empty bodies here
        ]
    finally:
        await operator.close()
    assert any(
        e.kind == "security" and e.detail["subject"] == forged and e.detail["user"] == "feed"
        and e.detail["violation"] == "publish"
        for e in events
    ), events  # fmt: skip


async def test_a_responder_answers_requests_without_a_grant_on_the_requesters_inbox(
    guarded: Guarded,
) -> None:
    control = await guarded.connect("control")
    operator = await guarded.connect(OPERATOR)

    async def answer(msg: Msg) -> None:
        await msg.respond(b"ok")

    try:
        await control.subscribe(CONTROL_REQUEST_SUBJECT, answer)
        await control.nc.flush()
        # polled: on a loaded machine the first request has met "no responders" once
        async with asyncio.timeout(20):
            while True:
                try:
                    reply = await operator.request(CONTROL_REQUEST_SUBJECT, b"", timeout_s=3)
                    break
                except NoRespondersError:
                    await asyncio.sleep(0.1)
        assert reply.data == b"ok"
        assert control.security.violations == 0
    finally:
        await control.close()
        await operator.close()


def test_credentials_are_random_private_and_absent_from_the_server_config(
    guarded: Guarded,
) -> None:
    path = guarded.store.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = guarded.store.load()
    passwords = [s.password.reveal() for s in secrets.values()]
    assert len(set(passwords)) == len(USERS)
    assert all(len(p) >= 22 for p in passwords), "at least 128 bits of urlsafe base64"
    config = (guarded.dir / "server.conf").read_text()
    assert not any(p in config for p in passwords)
    assert all(s.bcrypt_hash in config for s in secrets.values())
    assert "**" in repr(secrets[OPERATOR].password)


def test_a_credentials_file_others_may_read_is_refused_naming_chmod(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "nats-users.json", cost=4)
    store.ensure(("feed",))
    os.chmod(store.path, 0o644)
    with pytest.raises(CredentialsError, match=r"chmod 600 .*nats-users.json"):
        store.load()


def test_new_users_are_added_and_existing_passwords_kept(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "nats-users.json", cost=4)
    first = store.ensure(("feed",))["feed"].password.reveal()
    both = store.ensure(("feed", "risk"))
    assert both["feed"].password.reveal() == first
    assert both["risk"].password.reveal() != first
