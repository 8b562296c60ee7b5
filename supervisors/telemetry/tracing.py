"""OpenTelemetry tracing of a tick's journey: one span per actor handling, linked by the
W3C `traceparent` that every envelope carries (and NATS and Kafka headers repeat).

Off by default, and then free: `TRACER` stays None, the runtime tests that one global per
input and creates no span, context or string. `configure()` turns it on when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP/protobuf, the exporter's own
`OTEL_EXPORTER_OTLP_*` variables apply) or `ALPHA_PANDA_TRACE_FILE` names a file (one JSON
object per span and line, for tests and for a look without a collector). The SDK's
`OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` choose how many ticks start a trace;
downstream spans follow their parent's decision.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the SDK is imported only when tracing is on: it costs ~0.1-0.4 s at start
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, SpanContext, Tracer

__all__ = [
    "TRACE_FILE_ENV",
    "Tracing",
    "configure",
    "end_span",
    "handling_span",
    "producer_span",
    "span_kind_of",
    "tracer",
    "traceparent",
]

TRACE_FILE_ENV: Final = "ALPHA_PANDA_TRACE_FILE"
_OTLP_ENV: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"

#: the process's tracer while tracing is on; None (the default) means off
TRACER: Tracer | None = None


def tracer() -> Tracer | None:
    return TRACER


class Tracing:
    """The process's tracing setup; `shutdown()` flushes what is still buffered."""

    def __init__(self, provider: TracerProvider | None, where: str) -> None:
        self.provider = provider
        self.where = where  # for the start-up log line: "off", the endpoint or the file

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def shutdown(self) -> None:
        global TRACER
        if self.provider is not None:
            TRACER = None
            self.provider.shutdown()
            self.provider = None


def configure(
    service: str, env: Mapping[str, str] | None = None, *, ratio: float | None = None
) -> Tracing:
    """Turn tracing on if the environment asks for it; off otherwise (the default).

    `ratio` samples that share of new traces (ticks); None leaves the choice to the SDK's
    `OTEL_TRACES_SAMPLER` (every trace unless it says otherwise)."""
    global TRACER
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return Tracing(None, "off")
    exporter: SpanExporter
    if env.get(TRACE_FILE_ENV):
        from supervisors.telemetry.span_file import JsonLinesExporter

        where = env[TRACE_FILE_ENV]
        exporter = JsonLinesExporter(Path(where))
    elif env.get(_OTLP_ENV):
        # imported only when used: the exporter pulls in protobuf and requests
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        where = env[_OTLP_ENV]
        exporter = OTLPSpanExporter()
    else:
        return Tracing(None, "off")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service})
    sampler = None if ratio is None else ParentBased(TraceIdRatioBased(ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    TRACER = provider.get_tracer("alpha-panda")
    return Tracing(provider, where)


def _parent(parent_traceparent: str) -> SpanContext | None:
    """The remote span a W3C traceparent names; None (a new trace) when it is unusable."""
    from opentelemetry.trace import SpanContext, TraceFlags

    parts = parent_traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        ctx = SpanContext(
            trace_id=int(parts[1], 16), span_id=int(parts[2], 16), is_remote=True,
            trace_flags=TraceFlags(int(parts[3], 16)),
        )  # fmt: skip
    except ValueError:
        return None
    return ctx if ctx.is_valid else None


def span_kind_of(subject: str) -> str:
    """What a subject carries, without its broker or instrument: `paper.orders.filled` →
    `orders.filled`, `market.ticks.256265` → `ticks`."""
    parts = subject.split(".")[1:]
    if parts and parts[-1].isdigit():
        parts.pop()
    return ".".join(parts) or subject


def handling_span(
    tracer: Tracer, actor: str, subject: str, parent: str, broker: str | None
) -> Span | None:
    """The span of one actor handling one input, a child of the input's trace.

    None when the input belongs to a trace the sampler left out at its root: nothing of it
    is exported, so no span is made and the outputs carry the input's traceparent on."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanKind

    remote = _parent(parent) if parent else None
    if remote is not None and not remote.trace_flags.sampled:
        return None
    return tracer.start_span(
        f"{actor} {span_kind_of(subject)}",
        context=trace.set_span_in_context(NonRecordingSpan(remote)) if remote else None,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.destination.name": subject,
            "alpha_panda.actor": actor,
            "alpha_panda.broker": broker or "",
        },
    )


def producer_span(tracer: Tracer, actor: str, subject: str) -> Span:
    """The root span of a message that starts a journey (a tick the feed publishes)."""
    from opentelemetry.trace import SpanKind

    return tracer.start_span(
        f"{actor} {span_kind_of(subject)}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.destination.name": subject,
            "alpha_panda.actor": actor,
        },
    )


def end_span(span: Span, exc: BaseException | None = None) -> None:
    if exc is not None:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.end()


def traceparent(span: Span) -> str:
    """The W3C traceparent that makes `span` the parent of what it emits."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
