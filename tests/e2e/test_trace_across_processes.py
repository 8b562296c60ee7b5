"""A tick's journey traced across two `alpha-panda up` processes: the feed and strategies in
one, control, risk, execution and portfolio in the other. Each writes its spans to a file;
one trace must lead from the tick through the signal, the risk decision and the order to
the fill, each span the child of the one before, the context crossing NATS in between."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.names import ORDERS_FILLED, STATUS_SUBJECT, broker_subject
from supervisors.telemetry.tracing import TRACE_FILE_ENV
from tests.conftest import NatsServer
from tests.e2e.conftest import AlphaPanda, connected, eventually, launch, subject_counts

REPO = Path(__file__).parents[2]
OWNER = ("control", "portfolio", "execution", "risk")
EDGE = ("strategies", "feed")
#: the span names of one journey, parent before child
JOURNEY = (
    "market-feed ticks",
    "strategies-paper ticks",
    "risk-paper signals.raw",
    "execution-paper signals.validated",
    "portfolio-paper orders.filled",
)


def spans_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def chain(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The span and its ancestors, root first."""
    out = [span]
    while (parent := by_id.get(out[-1]["parent_span_id"] or "")) is not None:
        out.append(parent)
    return out[::-1]


async def test_one_trace_follows_a_tick_to_its_fill_across_two_processes(
    tmp_path: Path, fresh_nats: NatsServer
) -> None:
    apps: list[AlphaPanda] = []

    def start(roles: tuple[str, ...]) -> tuple[AlphaPanda, Path]:
        workdir = tmp_path / "-".join(roles)
        workdir.mkdir()
        spans = workdir / "spans.jsonl"
        app = launch(
            workdir, roles=roles, nats_url=fresh_nats.url, strategies=REPO / "strategies.yaml",
            extra={TRACE_FILE_ENV: str(spans), "ALPHA_PANDA_FEED_RATE": "200"},
        )  # fmt: skip
        apps.append(app)
        return app, spans

    async with connected(fresh_nats.url) as operator:

        async def answering(count: int) -> bool:
            replies = await operator.gather_replies(STATUS_SUBJECT, b"", window_s=0.5)
            return len([r for r in replies if r.data]) >= count

        async def some_fill() -> bool:
            filled = broker_subject("paper", ORDERS_FILLED)
            return (await subject_counts(operator, "PAPER")).get(filled, 0) > 0

        try:
            owner, owner_spans = start(OWNER)
            await eventually(lambda: answering(1), "the owner process", timeout_s=40, app=owner)
            edge, edge_spans = start(EDGE)
            await eventually(some_fill, "a fill through two processes", timeout_s=60, app=edge)
        finally:
            codes = [await app.stop() for app in reversed(apps)]  # flushes their spans
    assert codes == [0, 0], [app.output() for app in apps]

    owned, edged = spans_of(owner_spans), spans_of(edge_spans)
    by_id = {s["span_id"]: s for s in owned + edged}
    edge_ids = {s["span_id"] for s in edged}
    journeys = [chain(s, by_id) for s in owned if s["name"] == "portfolio-paper orders.filled"]
    complete = [j for j in journeys if tuple(s["name"] for s in j) == JOURNEY]
    assert complete, (
        f"no fill traced back to its tick: {[[s['name'] for s in j] for j in journeys]}"
    )
    for journey in complete:
        assert len({s["trace_id"] for s in journey}) == 1
        assert [s["span_id"] in edge_ids for s in journey] == [True, True, False, False, False]
        assert len({s["service"] for s in journey}) == 2  # one name per process
        starts = [s["start_ns"] for s in journey]
        assert starts == sorted(starts), "a child span started before its parent"
        assert journey[0]["parent_span_id"] is None and journey[0]["kind"] == "PRODUCER"
        execution = journey[3]
        # the order the execution placed is a sibling of its fill, handled before it
        orders = [
            s for s in owned
            if s["parent_span_id"] == execution["span_id"]
            and s["name"] == "portfolio-paper orders.submitted"
        ]  # fmt: skip
        assert len(orders) == 1 and orders[0]["trace_id"] == execution["trace_id"]
        assert orders[0]["start_ns"] <= journey[4]["start_ns"]
