"""The Prometheus registry of a real `alpha-panda up`, scraped from its metrics port after
paper trading has filled orders: every per-broker metric carries its broker, and the
Grafana dashboard asks only for metrics the registry has."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from schemas.names import STATUS_SUBJECT
from supervisors.embedded_nats import free_port
from supervisors.status import StatusNode
from supervisors.telemetry.tree_collector import PER_ACTOR, PER_BROKER
from tests.conftest import NatsServer
from tests.e2e.conftest import AlphaPanda, connected, eventually, launch

REPO = Path(__file__).parents[2]
DASHBOARD = REPO / "ops" / "grafana" / "alpha-panda.json"
#: the families whose name says they are per broker; PER_BROKER must list each one
PER_BROKER_PREFIXES = ("alpha_broker_", "alpha_strategy_")


def scrape(url: str) -> dict[str, Metric]:
    text = httpx.get(url, timeout=10).text
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict[str, Metric], name: str, **labels: str) -> float:
    family = families.get(name.removesuffix("_total"))
    if family is None:
        return 0.0
    return sum(
        s.value
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.fixture(scope="module")
async def a_run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    """One run shared by the tests here: the registry scraped after paper fills, and the
    actors of the tree with their brokers (from alpha.status)."""
    server = NatsServer()
    server.start()
    try:
        app, url = await run_until_filled(tmp_path_factory.mktemp("metrics"), server)
        try:
            families = scrape(url)
            brokers = await actor_brokers(server.url)
        finally:
            assert await app.stop() == 0, app.output()
        yield Run(families, brokers)
    finally:
        server.cleanup()


@dataclass(frozen=True)
class Run:
    families: dict[str, Metric]
    brokers: dict[str, str]


async def run_until_filled(tmp_path: Path, server: NatsServer) -> tuple[AlphaPanda, str]:
    metrics = f"http://127.0.0.1:{free_port()}/metrics"
    app = launch(
        tmp_path, nats_url=server.url, strategies=REPO / "strategies.yaml",
        extra={"ALPHA_PANDA_METRICS_ADDR": metrics.removeprefix("http://").split("/")[0],
               "ALPHA_PANDA_FEED_RATE": "200"},
    )  # fmt: skip

    async def filled() -> bool:
        try:
            return value(scrape(metrics), "alpha_broker_fills_total", broker="paper") > 0
        except httpx.HTTPError:
            return False  # not listening yet

    await eventually(filled, "a paper fill counted in the metrics", timeout_s=60, app=app)
    return app, metrics


async def actor_brokers(url: str) -> dict[str, str]:
    """Each actor of the running tree and its broker ("" for a shared one), from alpha.status."""
    async with connected(url) as bus:
        reply = await bus.nc.request(STATUS_SUBJECT, b"", timeout=10)
    tree = StatusNode.from_builtins(json.loads(reply.data)["tree"])
    out: dict[str, str] = {}

    def walk(node: StatusNode) -> None:
        if node.is_supervisor:
            for child in node.children:
                walk(child)
        elif node.kind == "actor":
            out[node.name] = node.broker or ""

    walk(tree)
    return out


def dashboard_metric_names() -> set[str]:
    exprs = [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel.get("targets", ())
    ]
    assert exprs, "the dashboard has no queries"
    return {name for expr in exprs for name in re.findall(r"\balpha_[a-z_]+\b", expr)}


def family_of(sample_name: str, families: dict[str, Metric]) -> str | None:
    for suffix in ("_total", "_bucket", "_count", "_sum", ""):
        base = sample_name.removesuffix(suffix) if suffix else sample_name
        if base in families:
            return base
    return None


async def test_every_per_broker_metric_of_a_run_carries_its_broker(a_run: Run) -> None:
    families, brokers = a_run.families, a_run.brokers

    named = {n for n in families if n.startswith(PER_BROKER_PREFIXES)}
    assert named - PER_BROKER == set(), "per-broker families missing from PER_BROKER"
    assert PER_BROKER - set(families) == set(), "declared per-broker families not exported"
    unlabelled = [
        f"{s.name}{s.labels}"
        for name in PER_BROKER
        for s in families[name].samples
        if not s.labels.get("broker")
    ]
    assert unlabelled == []
    assert value(families, "alpha_broker_signals_total", broker="paper") > 0
    assert value(families, "alpha_broker_orders_total", broker="paper") > 0

    assert set(families) >= PER_ACTOR
    wrong = [
        f"{s.name}{s.labels}: expected broker {brokers.get(s.labels.get('actor', ''))!r}"
        for name in PER_ACTOR
        for s in families[name].samples
        if "broker" not in s.labels or s.labels["broker"] != brokers.get(s.labels["actor"])
    ]
    assert wrong == []
    assert {s.labels["actor"] for s in families["alpha_actor_running"].samples} == set(brokers)
    # any other family with an actor or a stream label says its broker too
    for name, family in families.items():
        for s in family.samples:
            if "actor" in s.labels or "stream" in s.labels or "child" in s.labels:
                assert "broker" in s.labels, f"{name}: {s.name}{s.labels} has no broker label"


async def test_the_dashboard_asks_only_for_metrics_the_registry_has(a_run: Run) -> None:
    unknown = {n for n in dashboard_metric_names() if family_of(n, a_run.families) is None}
    assert unknown == set()
