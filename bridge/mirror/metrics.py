"""Prometheus metrics of the bridge and the per-stream figures behind `status()`."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from schemas.names import STREAMS

__all__ = ["StreamFigures", "stream_labels", "MIRRORED", "SKIPPED", "DEAD_LETTERED", "LAG",
           "MIRRORED_SEQ", "THROUGHPUT", "HEALTHY", "RESETS"]  # fmt: skip

#: `broker` is the stream's broker (PAPER: paper), empty for a shared stream such as MARKET
_STREAM_LABELS = ("stream", "broker")


def stream_labels(stream: str) -> tuple[str, str]:
    """The label values of a stream's metrics."""
    spec = STREAMS.get(stream)
    return stream, (spec.broker or "") if spec is not None else ""


MIRRORED = Counter(
    "alpha_bridge_mirrored_total",
    "Records produced to Kafka, then acked in JetStream",
    _STREAM_LABELS,
)
SKIPPED = Counter(
    "alpha_bridge_resume_skipped_total",
    "Redelivered messages found already in Kafka by the resume rule (acked, not produced)",
    _STREAM_LABELS,
)
DEAD_LETTERED = Counter(
    "alpha_bridge_dead_lettered_total",
    "Messages that failed validation, written to their topic's .dlq twin",
    _STREAM_LABELS,
)
LAG = Gauge(
    "alpha_bridge_lag_messages",
    "Stream last sequence minus the bridge consumer's ack floor (mirrored sequence)",
    _STREAM_LABELS,
)
MIRRORED_SEQ = Gauge(
    "alpha_bridge_mirrored_seq", "Highest stream sequence mirrored and acked", _STREAM_LABELS
)
THROUGHPUT = Gauge(
    "alpha_bridge_throughput_per_s",
    "Records mirrored per second over the last interval",
    _STREAM_LABELS,
)
HEALTHY = Gauge("alpha_bridge_healthy", "1 while Kafka accepts produces, 0 while retrying")
RESETS = Counter(
    "alpha_bridge_resets_total",
    "Produce or tail-read failures after which the bridge dropped its buffers and resumed",
)


@dataclass(slots=True)
class StreamFigures:
    """Counters of one mirrored stream, updated by the pipeline and the lag poller."""

    stream: str
    mirrored: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    redelivered_dropped: int = 0
    mirrored_seq: int = 0
    stream_last_seq: int = 0
    ack_floor: int = 0
    lag: int = 0
    pending: int = 0
    throughput_per_s: float = 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "stream": self.stream,
            "mirrored": self.mirrored,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
            "redelivered_dropped": self.redelivered_dropped,
            "mirrored_seq": self.mirrored_seq,
            "stream_last_seq": self.stream_last_seq,
            "ack_floor": self.ack_floor,
            "lag": self.lag,
            "pending": self.pending,
            "throughput_per_s": round(self.throughput_per_s, 1),
        }
