"""Tracing: one span per handling, a child of the input's traceparent, whose own
traceparent the outputs carry; and, off (the default), no span at all."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas.envelope import Envelope, encode, headers_for, new_envelope
from schemas.events import Heartbeat
from supervisors.actor import Actor, Context, CoreSub, Output
from supervisors.handling import ActorStats, Handling
from supervisors.telemetry import tracing
from supervisors.telemetry.metrics import ActorMetrics

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Relay(Actor):
    """Answers each heartbeat with one; fails on the one whose source is `bad`."""

    name = "relay-paper"
    broker = "paper"

    async def on_beat(self, env: Envelope[Heartbeat], ctx: Context) -> None:
        if env.source == "bad":
            raise ValueError("a bad beat")
        ctx.emit("paper.relay.out", Heartbeat(seq=1))


async def handle(source: str = "feed", trace: str = PARENT) -> list[Output]:
    actor = Relay()
    handling = Handling(actor, ActorStats(), ActorMetrics(actor.name, actor.broker))
    env = new_envelope(Heartbeat(seq=1), source=source, trace=trace)
    msg = Msg(None, subject="paper.relay.in", data=encode(env), headers=headers_for(env))  # type: ignore[arg-type]
    outputs: list[Output] = []
    await handling.core(CoreSub("paper.relay.in", actor.on_beat, Heartbeat), msg, outputs)
    return outputs


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "TRACER", provider.get_tracer("test"))
    yield exporter
    provider.shutdown()


async def test_a_handling_span_is_the_child_of_the_input_and_the_parent_of_its_outputs(
    exported: InMemorySpanExporter,
) -> None:
    (out,) = await handle()
    (span,) = exported.get_finished_spans()
    assert span.name == "relay-paper relay.in"
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT.split("-")[2]
    assert f"{span.context.trace_id:032x}" == PARENT.split("-")[1]
    assert out.envelope.trace == tracing.traceparent(span)  # type: ignore[arg-type]
    assert span.attributes is not None and span.attributes["alpha_panda.broker"] == "paper"


async def test_an_input_without_a_usable_traceparent_starts_a_trace(
    exported: InMemorySpanExporter,
) -> None:
    await handle(trace="")
    await handle(trace="00-not-a-trace")
    assert [s.parent for s in exported.get_finished_spans()] == [None, None]


async def test_a_failed_handling_ends_its_span_with_the_error(
    exported: InMemorySpanExporter,
) -> None:
    assert [o.subject for o in await handle(source="bad")] == ["dlq.paper.relay.in"]
    (span,) = exported.get_finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert "a bad beat" in (span.status.description or "")


async def test_off_no_span_is_made_and_outputs_keep_the_input_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_span(*args: Any) -> None:
        raise AssertionError("a span was made with tracing off")

    assert tracing.TRACER is None
    monkeypatch.setattr(tracing, "handling_span", no_span)
    monkeypatch.setattr(tracing, "traceparent", no_span)
    (out,) = await handle()
    assert out.envelope.trace == PARENT


def test_tracing_is_off_unless_the_environment_names_an_exporter(tmp_path: Path) -> None:
    assert not tracing.configure("test", {}).enabled
    assert not tracing.configure(
        "test", {tracing.TRACE_FILE_ENV: "x", "OTEL_SDK_DISABLED": "true"}
    ).enabled
    assert tracing.TRACER is None


def test_the_file_exporter_writes_one_json_span_per_line(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    traces = tracing.configure("test-service", {tracing.TRACE_FILE_ENV: str(path)})
    assert traces.enabled and tracing.TRACER is not None
    span = tracing.producer_span(tracing.TRACER, "market-feed", "market.ticks.256265")
    span.end()
    traces.shutdown()
    traces.shutdown()  # safe twice
    assert tracing.TRACER is None
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    assert record["name"] == "market-feed ticks" and record["parent_span_id"] is None
    assert record["service"] == "test-service" and record["kind"] == "PRODUCER"


@pytest.mark.parametrize(
    ("subject", "kind"),
    [("market.ticks.256265", "ticks"), ("paper.orders.filled", "orders.filled"),
     ("control.halt.paper", "halt.paper"), ("alpha.status", "status")],
)  # fmt: skip
def test_a_span_is_named_for_what_its_subject_carries(subject: str, kind: str) -> None:
    assert tracing.span_kind_of(subject) == kind


async def test_a_trace_its_root_left_unsampled_gets_no_span_and_passes_on_unchanged(
    exported: InMemorySpanExporter,
) -> None:
    unsampled = PARENT[:-2] + "00"
    (out,) = await handle(trace=unsampled)
    assert exported.get_finished_spans() == ()
    assert out.envelope.trace == unsampled


def test_an_otlp_endpoint_turns_tracing_on_with_the_http_exporter() -> None:
    traces = tracing.configure("test", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    try:
        assert traces.enabled and traces.where == "http://127.0.0.1:9"
    finally:
        traces.shutdown()  # nothing was traced: nothing to send to the closed port


def test_off_the_sdk_is_not_even_imported() -> None:
    """Its import costs a process a tenth of a second or more at start; off, none pays it."""
    probe = (
        "import sys, ops.tree, supervisors.runner, actors.feed.actor; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
