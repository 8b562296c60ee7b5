"""Subject grants: NATS wildcard matching, a user's permissions, and the JetStream API
subjects nats-py sends for each kind of consumer and for KV, spelled once.

`schemas.permissions` composes these into the table of who may do what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from schemas.names import STREAMS, kv_stream, kv_subject

__all__ = [
    "Grant",
    "Permissions",
    "subject_matches",
    "subject_covers",
    "inbox_prefix",
    "js_api",
    "durable_consumer",
    "ordered_reads",
    "kv_access",
    "publishes",
]

_API: Final = "$JS.API"


@dataclass(frozen=True, slots=True)
class Grant:
    """One subject family a role uses, and what it may publish and subscribe there.

    `consumes` names the stream subjects read through a JetStream consumer: the server
    grants those by consumer (the API subjects in `publish`), not by subject, so they are
    the catalogue's answer to "what does this role consume", checked against the actors.
    """

    family: str
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def subject_covers(pattern: str, subjects: str) -> bool:
    """Whether every subject `subjects` (itself possibly a wildcard) matches `pattern`."""
    want, have = pattern.split("."), subjects.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or have[i] == ">" or (token != "*" and token != have[i]):
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

    @property
    def consumes(self) -> tuple[str, ...]:
        return _unique(s for g in self.grants for s in g.consumes)

    def may_consume(self, subjects: str) -> bool:
        """Whether the user's consumers read `subjects` (a subject or a wildcard)."""
        return any(subject_covers(p, subjects) for p in self.consumes)

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


def js_api(*tokens: str) -> str:
    return ".".join((_API, *tokens))


def durable_consumer(stream: str, durable: str, subjects: tuple[str, ...]) -> Grant:
    """A durable pull consumer of `subjects`: create, update or delete it (a new lease owner
    recreates it to fence off the old owner's pull requests), read its info, pull, ack."""
    return Grant(
        f"consumer {stream}/{durable}",
        consumes=subjects,
        publish=(
            js_api("STREAM.INFO", stream),
            js_api("CONSUMER.INFO", stream, durable),
            js_api("CONSUMER.CREATE", stream, durable),
            js_api("CONSUMER.CREATE", stream, durable, ">"),
            js_api("CONSUMER.DURABLE.CREATE", stream, durable),
            js_api("CONSUMER.DELETE", stream, durable),
            js_api("CONSUMER.MSG.NEXT", stream, durable),
            f"$JS.ACK.{stream}.{durable}.>",
        ),
    )


def ordered_reads(stream: str, subjects: tuple[str, ...]) -> Grant:
    """Ordered consumers and stream replays of `subjects`: ephemeral, unacked, with flow
    control."""
    return Grant(
        f"ordered reads of {stream}",
        consumes=subjects,
        publish=(
            js_api("STREAM.INFO", stream),
            js_api("CONSUMER.CREATE", stream),
            js_api("CONSUMER.INFO", stream, "*"),
            f"$JS.FC.{stream}.>",
        ),
    )


def kv_access(bucket: str, key: str) -> Grant:
    """A KV bucket: find or create it, put and get `key` (a wildcard for several keys)."""
    stream = kv_stream(bucket)
    return Grant(
        f"kv {bucket}/{key}",
        publish=(
            js_api("STREAM.INFO", stream),
            js_api("STREAM.CREATE", stream),
            js_api("STREAM.MSG.GET", stream),
            js_api("DIRECT.GET", stream, kv_subject(bucket, key)),
            kv_subject(bucket, key),
        ),
    )


def publishes(family: str, *subjects: str) -> Grant:
    return Grant(family, publish=subjects)
