"""Prometheus metrics the runtime updates as it works, labelled by actor and broker.

All families live in prometheus_client's default registry, used consistently: it is
already one per process, the bridge registers there too, and it brings the process
collector (CPU, memory, open files) for free. Figures the actors already keep (signals,
rejections, PnL, mailbox depth, consumer pending) are not counted twice: `TreeCollector`
reads them from the supervision tree at scrape time. A shared actor (the market feed) has
`broker=""`, which Prometheus treats as no label.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Histogram, disable_created_metrics

__all__ = [
    "ActorMetrics",
    "HANDLING_BUCKETS_S",
    "count_restart",
]

# `*_created` series double what is scraped and nothing here reads them
disable_created_metrics()  # type: ignore[no-untyped-call]

_LABELS: Final = ("actor", "broker")

_PROCESSED = Counter("alpha_actor_messages_total", "Inputs handled by an actor", _LABELS)
_OUTPUTS = Counter("alpha_actor_outputs_total", "Outputs stored by an actor", _LABELS)
_FAILED = Counter(
    "alpha_actor_handler_failures_total", "Handler exceptions (input nak'd or dead-lettered)",
    _LABELS,
)  # fmt: skip
_DLQ = Counter("alpha_actor_dead_letters_total", "Inputs sent to dlq.<subject>", _LABELS)
#: from 20 µs (a tick a strategy skips) to 2.5 s (an order call to a real broker)
HANDLING_BUCKETS_S: Final = (
    0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
_HANDLING = Histogram(
    "alpha_actor_handling_seconds", "Time in an actor's handler, per input", _LABELS,
    buckets=HANDLING_BUCKETS_S,
)  # fmt: skip
_RESTARTS = Counter(
    "alpha_supervisor_restarts_total", "Child restarts by a supervisor",
    ("supervisor", "child", "broker"),
)  # fmt: skip


class ActorMetrics:
    """Children of the shared families bound to one actor's labels (cheap to update).

    A restarted actor binds the same children again, so its counters keep counting.
    """

    __slots__ = ("dead_lettered", "failed", "handling", "outputs", "processed")

    def __init__(self, actor: str, broker: str | None) -> None:
        labels = {"actor": actor, "broker": broker or ""}
        self.processed = _PROCESSED.labels(**labels)
        self.outputs = _OUTPUTS.labels(**labels)
        self.failed = _FAILED.labels(**labels)
        self.dead_lettered = _DLQ.labels(**labels)
        self.handling = _HANDLING.labels(**labels)


def count_restart(supervisor: str, child: str, broker: str | None) -> None:
    """One restart of `child` by `supervisor` (a counter: it survives the child)."""
    _RESTARTS.labels(supervisor, child, broker or "").inc()
