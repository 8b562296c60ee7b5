"""Prometheus metrics of the runtime, labelled by actor and broker ("" for shared actors)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = ["ActorMetrics", "RESTARTS"]

_PROCESSED = Counter(
    "alpha_actor_messages_total", "Inputs handled by an actor", ["actor", "broker"]
)
_OUTPUTS = Counter("alpha_actor_outputs_total", "Outputs stored by an actor", ["actor", "broker"])
_FAILED = Counter(
    "alpha_actor_handler_failures_total", "Handler exceptions (input nak'd)", ["actor", "broker"]
)
_DLQ = Counter(
    "alpha_actor_dead_letters_total", "Inputs sent to dlq.<subject>", ["actor", "broker"]
)
_MAILBOX = Gauge("alpha_actor_mailbox_depth", "Items waiting in the mailbox", ["actor", "broker"])
RESTARTS = Counter(
    "alpha_supervisor_restarts_total", "Child restarts", ["supervisor", "child", "broker"]
)


class ActorMetrics:
    """Children of the shared metric families bound to one actor's labels (cheap to update)."""

    __slots__ = ("dead_lettered", "failed", "mailbox_depth", "outputs", "processed")

    def __init__(self, actor: str, broker: str | None) -> None:
        labels = {"actor": actor, "broker": broker or ""}
        self.processed = _PROCESSED.labels(**labels)
        self.outputs = _OUTPUTS.labels(**labels)
        self.failed = _FAILED.labels(**labels)
        self.dead_lettered = _DLQ.labels(**labels)
        self.mailbox_depth = _MAILBOX.labels(**labels)
