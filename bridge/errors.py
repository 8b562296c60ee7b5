"""Errors of the bridge. Each carries `retriable` (retry loops read it) and says what to do.

The mirror's loop reads `retriable`: a retriable error ends the epoch (drop what is held,
back off, resume from the consumers' ack floor); any other stops the bridge with the error's
remedy, since retrying cannot fix a setting. `kafka_failure` sorts Kafka's own errors.
"""

from __future__ import annotations

from typing import Final

from aiokafka import errors as kafka_errors

from schemas.errors import ConfigError

__all__ = [
    "BridgeError",
    "KafkaUnavailable",
    "KafkaRefused",
    "kafka_failure",
    "MirrorInterrupted",
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


class MirrorInterrupted(BridgeError):
    """A JetStream call or a background task of the mirror failed; the epoch ends."""

    retriable = True

    def __init__(self, what: str, cause: BaseException) -> None:
        super().__init__(
            f"{what} failed ({type(cause).__name__}: {cause}); the bridge retries with backoff "
            "and resumes from the unacked JetStream messages: check that NATS is reachable"
        )
        self.what = what
        self.cause = cause


class BridgeConfigError(BridgeError, ConfigError):
    """A bridge setting is malformed (unknown topic class, codec not installed, ...)."""


class KafkaRefused(BridgeConfigError):
    """Kafka refused the bridge for a reason retrying cannot fix: permissions, topic settings,
    a producer setting the broker does not support, a record size limit, a missing topic."""

    def __init__(self, what: str, cause: BaseException, remedy: str) -> None:
        super().__init__(
            f"{what} was refused ({type(cause).__name__}: {cause}); retrying cannot help, so "
            f"the bridge stops: {remedy}. Its consumers keep every unmirrored message; restart "
            "it once fixed"
        )
        self.what = what
        self.cause = cause
        self.remedy = remedy


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


_PERMISSIONS: Final = (
    "grant the bridge's Kafka principal WRITE and DESCRIBE on the mirrored topics and their "
    ".dlq twins (CREATE on the cluster if it creates them), or fix its credentials"
)
_TOPIC_SETTINGS: Final = (
    "the cluster rejects the topic settings of the environment's overlay "
    "(bridge.topics.overlays): fix the overlay or the broker's policy, then run "
    "`alpha-panda ops bootstrap`"
)
_PRODUCER_SETTING: Final = (
    "the broker does not support a producer setting: choose another compression "
    "(ALPHA_PANDA_BRIDGE_PRODUCER=*.compression=gzip) or upgrade the broker"
)
_RECORD_SIZE: Final = (
    "the topic's max.message.bytes is below the bridge's max_request_bytes for its class: set "
    "ALPHA_PANDA_BRIDGE_PRODUCER=<class>.max_request_bytes=<the topic's max.message.bytes> so "
    "that larger records go to the .dlq twin, or raise the topic's max.message.bytes"
)
_MISSING_TOPIC: Final = (
    "the topic does not exist and the cluster does not create topics on demand: run "
    "`alpha-panda ops bootstrap`"
)
_REMEDIES: Final[tuple[tuple[tuple[type[BaseException], ...], str], ...]] = (
    (
        (
            kafka_errors.TopicAuthorizationFailedError,
            kafka_errors.ClusterAuthorizationFailedError,
            kafka_errors.GroupAuthorizationFailedError,
            kafka_errors.TransactionalIdAuthorizationFailed,
            kafka_errors.SaslAuthenticationFailed,
            kafka_errors.AuthenticationFailedError,
            kafka_errors.AuthenticationMethodNotSupported,
            kafka_errors.UnsupportedSaslMechanismError,
        ),
        _PERMISSIONS,
    ),
    (
        (
            kafka_errors.InvalidTopicError,
            kafka_errors.InvalidPartitionsError,
            kafka_errors.InvalidReplicationFactorError,
            kafka_errors.InvalidReplicationAssignmentError,
            kafka_errors.InvalidConfigurationError,
            kafka_errors.PolicyViolationError,
        ),
        _TOPIC_SETTINGS,
    ),
    (
        (
            kafka_errors.UnsupportedCodecError,
            kafka_errors.UnsupportedForMessageFormatError,
            kafka_errors.UnsupportedVersionError,
            kafka_errors.InvalidRequiredAcksError,
            kafka_errors.KafkaConfigurationError,
        ),
        _PRODUCER_SETTING,
    ),
    (
        (kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordListTooLargeError),
        _RECORD_SIZE,
    ),
)


def kafka_failure(what: str, cause: BaseException, *, missing_topic: bool = False) -> BridgeError:
    """The bridge error for a failed Kafka call: `KafkaRefused` (stop, with the remedy) when
    the cause is a setting retrying cannot fix, else `KafkaUnavailable` (back off, resume).

    `missing_topic` marks a metadata wait that ended without the topic (aiokafka then raises
    UnknownTopicOrPartitionError, which is retriable while a leader moves, not after).
    """
    if missing_topic and isinstance(cause, kafka_errors.UnknownTopicOrPartitionError | LookupError):
        return KafkaRefused(what, cause, _MISSING_TOPIC)
    for kinds, remedy in _REMEDIES:
        if isinstance(cause, kinds):
            return KafkaRefused(what, cause, remedy)
    return KafkaUnavailable(what, cause)
