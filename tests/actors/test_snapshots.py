"""Snapshots stored before actors' state was typed still restore: the JSON is the same."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec

from actors.paper.actor import ExecutionSnapshot, PaperExecution
from actors.paper.matching import PaperBroker
from actors.portfolio.actor import PortfolioSnapshot
from actors.risk.actor import RiskManager, RiskSnapshot
from actors.risk.limits import RiskLimits
from actors.strategies.momentum import MomentumParams, MomentumSnapshot, MomentumStrategy
from actors.strategies.rsi import RsiParams, RsiSnapshot, RsiStrategy
from actors.strategies.runner import strategies_state_type
from schemas.enums import OrderType
from schemas.events import PnlSnapshot, PositionView
from supervisors.snapshot import decode_snapshot, encode_snapshot
from tests.actors.paper.test_actor_snapshot import TOKEN, context, receive_tick, validated
from tests.actors.risk.test_actor_event_time import (
    MARKET_OPEN,
    SECOND,
    STRATEGIES,
    decide,
    signal,
)
from tests.actors.strategies.support import ACME, ticks


def test_a_risk_snapshot_in_the_old_dict_form_restores_the_same_engine() -> None:
    limits = RiskLimits(rate_limit_per_s=Decimal(1000), burst=1000)
    risk = RiskManager("paper", limits, strategies=STRATEGIES)
    for n in range(3):
        decide(risk, signal(MARKET_OPEN + n * SECOND, tick_ts=MARKET_OPEN + n * SECOND), n)
    engine = risk.engine.snapshot()  # the form dump_state used to store
    engine["accepted_ids"], engine["fill_ids"] = sorted(engine["pending"]), []
    old = {"engine": engine, "day": risk.day, "validated": risk.validated, "rejections": {}}
    snap = decode_snapshot(json.dumps({"seq": 9, "state": old}).encode(), RiskSnapshot)
    successor = RiskManager("paper", limits, strategies=STRATEGIES)
    successor.load_state(snap.state)
    assert snap.seq == 9
    assert successor.engine.open_orders == risk.engine.open_orders == 3
    assert successor.engine.snapshot() == risk.engine.snapshot() | {"fill_ids": []}
    assert (successor.day, successor.validated) == (risk.day, 3)


async def test_an_execution_snapshot_in_the_old_dict_form_restores_the_resting_orders() -> None:
    actor = PaperExecution("paper", PaperBroker(), tokens=[TOKEN])
    receive_tick(actor)
    await actor._submit(validated(7, OrderType.LIMIT, "1400.00"), 1, context(actor))
    orders = msgspec.to_builtins(actor.book.open_orders())
    old = {"seq": 4, "state": {"book": {"orders": orders}, "counts": [1, 0, 0, 0]}}
    snap = decode_snapshot(json.dumps(old).encode(), ExecutionSnapshot)
    successor = PaperExecution("paper", PaperBroker(), tokens=[TOKEN])
    successor.load_state(snap.state)
    assert [o.client_order_id for o in successor.book.open_orders()] == ["sig7"]
    assert successor.orders == 1
    assert msgspec.json.decode(encode_snapshot(4, actor.dump_state())) == old


def test_a_portfolio_snapshot_from_before_events_were_tagged_restores() -> None:
    pnl = PnlSnapshot(
        positions=[PositionView(instrument_token=5, quantity=2, average_price=Decimal("10.5"),
                                last_price=Decimal("11"), realized_pnl=Decimal(0),
                                unrealized_pnl=Decimal("1.00"))],
        cash=Decimal("979.00"), realized_pnl=Decimal(0), unrealized_pnl=Decimal("1.00"),
        charges=Decimal("0"), equity=Decimal("1001.00"), as_of_ns=1, last_seq=12,
    )  # fmt: skip
    untagged = {k: v for k, v in msgspec.to_builtins(pnl).items() if k != "type"}
    old = {"seq": 12, "state": {"snapshot": untagged, "snapshots": 4}}
    snap = decode_snapshot(json.dumps(old).encode(), PortfolioSnapshot)
    assert snap.state == PortfolioSnapshot(snapshot=pnl, snapshots=4)


def test_a_strategies_snapshot_from_before_the_structs_restores_each_strategy() -> None:
    first = MomentumStrategy("mom", [ACME], MomentumParams(fast_window=2, slow_window=4))
    rsi = RsiStrategy("rsi", [ACME], RsiParams(period=2))
    for t in ticks(100, 99, 98, 97, 100, 102):
        first.on_tick(t, 0)
        rsi.on_tick(t, 0)
    old = {  # as the runner stored it when strategies' snapshots were dicts
        "mom": {"version": 1, "kind": "momentum", "strategy_id": "mom",
                "instruments": {"1001": {"position": "LONG", "prices": ["98", "97", "100", "102"],
                                         "sign": 1}}},
        "rsi": json.loads(msgspec.json.encode(rsi.snapshot())),
    }  # fmt: skip
    raw = json.dumps({"seq": 5, "state": old}).encode()
    state = decode_snapshot(raw, strategies_state_type()).state
    assert isinstance(state["mom"], MomentumSnapshot) and isinstance(state["rsi"], RsiSnapshot)
    second = MomentumStrategy("mom", [ACME], MomentumParams(fast_window=2, slow_window=4))
    second.restore(state["mom"])
    assert second.snapshot() == first.snapshot()
    assert json.loads(encode_snapshot(5, {"mom": first.snapshot()}))["state"] == {"mom": old["mom"]}


def test_a_strategy_kind_registered_later_is_in_the_runners_state_type() -> None:
    from ops.bench.strategy import BenchSnapshot

    raw = b'{"seq":1,"state":{"b":{"kind":"bench","strategy_id":"b","seen":7}}}'
    state = decode_snapshot(raw, strategies_state_type()).state
    assert state == {"b": BenchSnapshot(strategy_id="b", seen=7)}
