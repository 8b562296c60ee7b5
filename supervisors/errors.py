"""Errors of the actor runtime, and the rule retry loops apply to any error.

Each error says what to do about it and carries `retriable`: whether handling the same
input again, or restarting, can succeed. `is_retriable` is the one reading of that flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

__all__ = [
    "RuntimeFault",
    "Crash",
    "PublishFailed",
    "ConsumerLost",
    "SupervisorGaveUp",
    "StartFailed",
    "EmbeddedNatsError",
    "CredentialsError",
    "ConnectFailed",
    "SnapshotUnreadable",
    "DataDirInUse",
    "LeaseLost",
    "is_retriable",
]

# Deterministic failures on the same bytes: decoding them again fails the same way.
_DECODE_ERRORS = (msgspec.DecodeError, json.JSONDecodeError, UnicodeDecodeError)


def is_retriable(exc: BaseException) -> bool:
    """Whether trying the same input again can succeed.

    In order: an error that declares `retriable` (a bool, on its class or the instance) is
    taken at its word; a decode or validation error (`msgspec.DecodeError` and its
    `ValidationError`, `json.JSONDecodeError`, `UnicodeDecodeError`) is not retriable; any
    other exception is retriable, since an unknown error may be transient (a timeout, a
    store that is briefly away). Domain code that rejects invalid input raises an error
    with `retriable = False` (the `ConfigError`s, `InvalidTick`, `IllegalTransition`).
    """
    flag = getattr(exc, "retriable", None)
    if isinstance(flag, bool):
        return flag
    return not isinstance(exc, _DECODE_ERRORS)


class RuntimeFault(Exception):
    """Base of runtime errors; `retriable` tells retry loops whether trying again can help."""

    retriable: bool = False


class Crash(RuntimeFault):
    """Raised inside a handler to crash the actor on purpose (let it crash).

    The input stays unacked and is redelivered to the restarted actor; outputs already
    stored are deduplicated by their `Nats-Msg-Id`.
    """

    retriable = True


class PublishFailed(RuntimeFault):
    """An output was not acknowledged by JetStream; the actor crashes so nothing is acked."""

    retriable = True

    def __init__(self, subject: str, cause: BaseException) -> None:
        super().__init__(
            f"publish to {subject!r} was not acknowledged ({type(cause).__name__}: {cause}); "
            "check that a stream captures the subject (`alpha-panda ops bootstrap`) and that "
            "NATS is reachable"
        )
        self.subject = subject


class ConsumerLost(RuntimeFault):
    """The server no longer has an actor's durable consumer (deleted, or lost with its
    stream); the actor crashes and its restart recreates the consumer."""

    retriable = True


class StartFailed(RuntimeFault):
    """A child did not report ready within its start timeout."""

    retriable = True


class SupervisorGaveUp(RuntimeFault):
    """A supervisor exceeded its restart intensity and stopped; its parent decides next."""

    def __init__(self, name: str, restarts: int, period_s: float, last_error: str) -> None:
        super().__init__(
            f"supervisor {name!r} gave up after {restarts} restarts within {period_s:g}s; "
            f"last error: {last_error}"
        )
        self.name = name
        self.last_error = last_error


class EmbeddedNatsError(RuntimeFault):
    """The embedded nats-server could not be started."""


class CredentialsError(RuntimeFault):
    """NATS credentials are missing, unreadable or exposed; the message names the fix."""


class ConnectFailed(RuntimeFault):
    """No connection to NATS: the server is unreachable or refused the credentials."""

    retriable = True

    def __init__(self, url: str, how: str, cause: BaseException) -> None:
        reason = f"{type(cause).__name__}: {cause}".rstrip(": ")
        if "authorization" in reason.lower():
            remedy = (
                "the server refused the credentials: in the directory of a running "
                "`alpha-panda up` they are found under var/; for an external server set "
                "NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_NKEY_SEED or NATS_TOKEN"
            )
        else:
            remedy = "check that the server runs and NATS_URL (or var/nats.url) is right"
        from supervisors.nats_auth import redact_url

        shown = redact_url(url)
        super().__init__(f"cannot connect to NATS at {shown} as {how} ({reason}); {remedy}")
        self.url = shown
        self.cause = cause


class DataDirInUse(RuntimeFault):
    """Another `alpha-panda up` holds the data directory's lock."""

    def __init__(self, directory: Path, holder: dict[str, Any] | None) -> None:
        if holder:
            who = (
                f"alpha-panda up pid {holder.get('pid')} on {holder.get('host')}, "
                f"started {holder.get('started_at')} ({holder.get('command')})"
            )
            fix = f"stop it (kill {holder.get('pid')})"
        else:
            who, fix = "another process", "stop it"
        super().__init__(
            f"data directory {directory} is in use by {who}; {fix}, or give this process a "
            "directory of its own with ALPHA_PANDA_DATA_DIR"
        )
        self.directory = directory
        self.holder = holder


class LeaseLost(RuntimeFault):
    """A broker's lease is no longer held: its stateful actors must not handle anything."""


class SnapshotUnreadable(ValueError):
    """A stored snapshot that does not decode as the actor's state type; the actor rebuilds
    its state from the stream instead (a snapshot is a cache of the stream)."""

    retriable = False
