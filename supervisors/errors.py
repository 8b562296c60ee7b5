"""Errors of the actor runtime. Each carries what to do about it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "RuntimeFault",
    "Crash",
    "PublishFailed",
    "SupervisorGaveUp",
    "StartFailed",
    "EmbeddedNatsError",
    "CredentialsError",
    "ConnectFailed",
    "DataDirInUse",
    "LeaseLost",
]


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
