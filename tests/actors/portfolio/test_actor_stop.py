"""The portfolio actor against a real NATS: marks from every instrument's ticks, per-strategy
figures in its snapshot, and a final snapshot at a graceful stop that equals the ledger."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from nats.aio.msg import Msg

from actors.portfolio.actor import PortfolioActor
from actors.stores.shared import Stores
from ops.bootstrap import bootstrap_streams
from ops.commands.portfolio import render_portfolio
from ops.commands.status import render_pipeline
from schemas.enums import Side
from schemas.envelope import decode, encode, new_envelope
from schemas.events import MarketTick, OrderFilled, PnlSnapshot
from schemas.names import (
    ORDERS_FILLED,
    PNL_SNAPSHOTS,
    broker_subject,
    portfolio_request_subject,
    tick_subject,
)
from supervisors.actor import Context
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.runner import ActorProcess
from supervisors.supervisor import Supervisor
from tests.actors.portfolio.test_attribution import A, B, fill
from tests.conftest import NatsServer
from tests.supervisors.fakes import supervisor

D = Decimal
TICK_TS = 1_700_000_000_000_000_000


@pytest.fixture
async def fresh_bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    bus = await Bus.connect(fresh_nats.url, name="tests")
    await bootstrap_streams(bus, "test")
    yield bus
    await bus.close()


def fills() -> list[OrderFilled]:
    """The two-strategy session of test_attribution, plus rev buying 3 INFY on its tick."""
    return [
        fill("mom", Side.BUY, 10, "100", charges="1.00", tick_ts=TICK_TS),
        fill("rev", Side.SELL, 4, "101", charges="0.50", tick_ts=TICK_TS),
        fill("mom", Side.SELL, 5, "104", charges="0.80", tick_ts=TICK_TS + 1),
        fill("rev", Side.BUY, 4, "102", charges="0.40", tick_ts=TICK_TS + 1),
        fill("rev", Side.BUY, 3, "250.10", token=B, charges="0.35", tick_ts=TICK_TS),
    ]


async def publish(bus: Bus) -> None:
    for token, price, ts in ((A, "103", TICK_TS + 1), (B, "250.00", TICK_TS)):
        tick = MarketTick(instrument_token=token, last_price=D(price))
        await bus.publish(tick_subject(token), new_envelope(tick, source="feed", ts=ts))
    for f in fills():
        await bus.publish(broker_subject("paper", ORDERS_FILLED), new_envelope(f, source="paper"))


async def snapshots(bus: Bus) -> list[PnlSnapshot]:
    out = []
    async for msg in bus.replay("PAPER", [broker_subject("paper", PNL_SNAPSHOTS)], 1):
        data = decode(msg.data).data
        assert isinstance(data, PnlSnapshot)
        out.append(data)
    return out


async def check_the_commands_show_each_strategy(bus: Bus, actor: PortfolioActor) -> None:
    """`alpha-panda portfolio --by strategy` and `status` while the actor runs."""
    reply = await bus.request(portfolio_request_subject("paper"), b"", timeout_s=3)
    snap = msgspec.json.decode(reply.data, type=PnlSnapshot)
    text = render_portfolio("paper", snap, by="strategy").splitlines()
    assert text[1] == ("strategy mom: realized 20.00  unrealized 15.00  charges 1.80  "
                       "turnover 1,520.00  fills 2  open 1")  # fmt: skip
    assert text[2].split() == ["HDFCBANK", str(A), "5", "100.00", "103.00", "15.00", "20.00",
                               "1.80", "2"]  # fmt: skip
    assert text[3].startswith("strategy rev: realized -4.00  unrealized -0.30  charges 1.25")
    assert [line.split()[0] for line in text[4:6]] == ["HDFCBANK", "INFY"]
    by_instrument = render_portfolio("paper", snap).splitlines()
    assert by_instrument[1].split()[:7] == ["HDFCBANK", str(A), "5", "100.00", "103.00",
                                            "15.00", "16.00"]  # fmt: skip
    status = render_pipeline({"paper": actor.stats()["pipeline"]})
    assert status[1:] == [
        "  strategy mom: realized_pnl=20.00  unrealized_pnl=15.00  charges=1.80  fills=2",
        "  strategy rev: realized_pnl=-4.00  unrealized_pnl=-0.30  charges=1.25  fills=3",
    ]
    assert status[0].startswith("broker paper: open_positions=2  realized_pnl=16.00")


@pytest.mark.timeout(60)
async def test_a_graceful_stop_right_after_fills_leaves_a_snapshot_equal_to_the_ledger(
    fresh_bus: Bus, tmp_path: Path
) -> None:
    await publish(fresh_bus)
    stores = Stores(None, None, tmp_path)
    actor = PortfolioActor("paper", stores, starting_cash=D("10000"), pnl_interval_s=3600)
    sup = Supervisor(
        supervisor("s", [ChildSpec(actor.name, lambda: ActorProcess(actor, fresh_bus))])
    )
    task = asyncio.create_task(sup.run(lambda: None))
    async with asyncio.timeout(20):
        while actor.book.fills < 5 or not all(p.marked for p in actor.book.positions()):
            await asyncio.sleep(0.02)
    await check_the_commands_show_each_strategy(fresh_bus, actor)
    sup.request_stop()  # no PnL interval has passed: only the final snapshot can be there
    await asyncio.wait_for(task, 15)

    [last] = await snapshots(fresh_bus)
    rows = await (await stores.ledger()).fills("paper")
    assert len(rows) == last.fills == 5
    charges: dict[str, Decimal] = defaultdict(Decimal)
    cash = D("10000")
    for r in rows:
        charges[r.strategy_id] += r.charges.total
        cash -= (r.quantity if r.side == "BUY" else -r.quantity) * r.price + r.charges.total
    assert (last.cash, last.charges) == (cash, sum(charges.values()))
    assert {s.strategy_id: s.charges for s in last.strategies} == charges
    assert last.turnover == sum((r.quantity * r.price for r in rows), D(0))
    # the figures of test_attribution, and INFY marked by the tick its fill was priced
    # from although that tick came before the position: 3 x 250.00 - 750.30 = -0.30
    assert (last.realized_pnl, last.unrealized_pnl) == (D(16), D("14.70"))
    assert [(s.strategy_id, s.unrealized_pnl) for s in last.strategies] == [
        ("mom", D(15)), ("rev", D("-0.30")),
    ]  # fmt: skip
    assert await stores.read_models.read_pnl("paper") == last
    assert set(await stores.read_models.strategies("paper")) == {"mom", "rev"}
    await stores.close()


def tick_msg(token: int, price: str, ts: int) -> Msg:
    env = new_envelope(
        MarketTick(instrument_token=token, last_price=D(price)), source="feed", ts=ts
    )
    return Msg(None, subject=tick_subject(token), data=encode(env))  # type: ignore[arg-type]


async def test_a_new_position_is_marked_from_the_last_tick_delivered_before_its_fill(
    tmp_path: Path,
) -> None:
    actor = PortfolioActor("paper", Stores(None, None, tmp_path), starting_cash=D("10000"))
    for price, ts in (("249.00", TICK_TS - 2), ("250.00", TICK_TS)):
        actor._see(tick_msg(B, price, ts))  # delivered, but B not held: not decoded
        assert not actor._held_on(tick_subject(B))
    f = fill("rev", Side.BUY, 3, "250.10", token=B, tick_ts=TICK_TS)
    await actor.on_order_event(new_envelope(f, source="paper"), Context(actor.name, "paper", seq=1))
    assert actor._held_on(tick_subject(B)), "held now: its ticks are decoded and mark it"
    [view] = actor.book.positions()
    # marked at the named tick's 250.00, not at the fill's 250.10: 3 x 250.00 - 750.30
    assert (view.marked, view.last_price, view.unrealized_pnl) == (True, D("250.00"), D("-0.30"))
    await actor.stores.close()
