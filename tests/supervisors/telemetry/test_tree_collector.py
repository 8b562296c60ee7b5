"""The figures the actors keep become metrics at scrape time, per broker and per actor."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from supervisors.status import SUPERVISOR, StatusNode
from supervisors.telemetry.tree_collector import PER_BROKER, PIPELINE, TreeCollector


def actor(name: str, broker: str | None, **figures: Any) -> StatusNode:
    return StatusNode(name=name, broker=broker, state="running", figures=figures)


def tree() -> StatusNode:
    risk = actor(
        "risk-paper", "paper", mailbox_depth=3, consumer_pending=7,
        pipeline={"trading_state": "HALTED", "validated": 5, "rejected": 3,
                  "rejections": {"max_position": 2, "rate_limit": 1}},
    )  # fmt: skip
    portfolio = actor(
        "portfolio-paper", "paper",
        pipeline={"realized_pnl": "655.72000000000000000000000", "unrealized_pnl": "-12.5",
                  "strategies": {"momo": {"realized_pnl": "1.25", "fills": 4}}},
    )  # fmt: skip
    feed = actor("market-feed", None, pipeline={"ticks": 100, "invalid_ticks": 1})
    broker = StatusNode(name="broker:paper", kind=SUPERVISOR, broker="paper",
                        children=[risk, portfolio])  # fmt: skip
    return StatusNode(name="root", kind=SUPERVISOR, children=[broker, feed])


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(TreeCollector(tree))
    return reg


def test_pipeline_figures_become_metrics_labelled_with_their_broker() -> None:
    reg = registry()
    paper = {"broker": "paper"}
    assert reg.get_sample_value("alpha_broker_validated_total", paper) == 5
    assert reg.get_sample_value("alpha_broker_realized_pnl_rupees", paper) == 655.72
    assert reg.get_sample_value("alpha_broker_unrealized_pnl_rupees", paper) == -12.5
    assert reg.get_sample_value(
        "alpha_broker_rejections_total", {"broker": "paper", "reason": "max_position"}
    ) == 2  # fmt: skip
    assert reg.get_sample_value(
        "alpha_broker_trading_state", {"broker": "paper", "state": "HALTED"}
    ) == 1  # fmt: skip
    assert reg.get_sample_value(
        "alpha_strategy_fills_total", {"broker": "paper", "strategy": "momo"}
    ) == 4  # fmt: skip


def test_actor_figures_carry_the_actor_and_its_broker_empty_for_a_shared_one() -> None:
    reg = registry()
    labels = {"actor": "risk-paper", "broker": "paper"}
    assert reg.get_sample_value("alpha_actor_mailbox_depth", labels) == 3
    assert reg.get_sample_value("alpha_actor_consumer_pending", labels) == 7
    assert reg.get_sample_value("alpha_actor_running", {"actor": "market-feed", "broker": ""}) == 1


def test_the_shared_feed_adds_no_per_broker_sample() -> None:
    for family in registry().collect():
        if family.name in PER_BROKER:
            assert all(s.labels.get("broker") for s in family.samples), family.name


def test_every_pipeline_figure_is_declared_per_broker() -> None:
    assert {f.metric for f in PIPELINE} <= PER_BROKER
