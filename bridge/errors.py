"""Errors of the bridge. Each carries `retriable` (retry loops read it) and says what to do."""

from __future__ import annotations

from schemas.errors import ConfigError

__all__ = [
    "BridgeError",
    "KafkaUnavailable",
    "DeliveryGap",
    "BridgeConfigError",
    "RegistryError",
    "SchemaNotRegistered",
    "RedriveRefused",
    "ReplayError",
]


class BridgeError(Exception):
    """Base of bridge errors."""

    retriable: bool = False


class KafkaUnavailable(BridgeError):
    """A produce, metadata or tail read failed; the bridge drops what it holds and resumes."""

    retriable = True

    def __init__(self, what: str, cause: BaseException) -> None:
        super().__init__(
            f"{what} failed ({type(cause).__name__}: {cause}); the bridge retries with backoff "
            "and resumes from the unacked JetStream messages: check that KAFKA_BOOTSTRAP_SERVERS "
            "is reachable and the topics exist (`alpha-panda ops bootstrap`)"
        )
        self.what = what
        self.cause = cause


class DeliveryGap(BridgeError):
    """A JetStream delivery to the bridge was lost (its consumer sequence was skipped)."""

    retriable = True

    def __init__(self, stream: str, expected: int, got: int) -> None:
        super().__init__(
            f"stream {stream}: delivery {expected} never arrived (got {got}), e.g. lost in a "
            "reconnect; the bridge resumes from the consumer's ack floor so nothing is skipped"
        )
        self.stream = stream


class BridgeConfigError(BridgeError, ConfigError):
    """A bridge setting is malformed (unknown topic class, codec not installed, ...)."""


class RegistryError(BridgeError):
    """The schema registry answered with an error or could not be reached."""

    def __init__(self, message: str, *, status: int = 0, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retriable = status == 0 or status >= 500


class SchemaNotRegistered(BridgeError):
    """The registry has no version of our schema under a subject and auto-register is off."""

    retriable = True

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"subject {subject!r} has no version matching the generated schema: run "
            "`alpha-panda schemas register` (or allow the bridge to auto-register)"
        )
        self.subject = subject


class RedriveRefused(BridgeError):
    """Re-driving a dead-letter topic was asked for without an explicit confirmation."""

    def __init__(self, topic: str) -> None:
        super().__init__(
            f"{topic!r} is a dead-letter topic: re-driving republishes its letters to their "
            "original subjects, where actors process them again. Check with --dry-run, then "
            "repeat with --confirm (the re-drive is recorded as an audit.redrive event)"
        )
        self.topic = topic


class ReplayError(BridgeError):
    """A replay could not proceed (unknown topic, undecodable record, bad range)."""
