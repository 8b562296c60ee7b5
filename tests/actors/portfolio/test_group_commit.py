"""The portfolio's group commit, against a real NATS and each ledger (file, PostgreSQL):
the ledger rows of a batch of inputs are written in one durable step after the batch is
handled, and the inputs are acked only after it; a crash between the write and the ack
redelivers the batch, and the ledger records none of it twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from actors.portfolio.actor import PortfolioActor
from actors.stores.shared import Stores
from ops.bootstrap import bootstrap_streams
from schemas.enums import Side
from schemas.envelope import new_envelope
from schemas.events import OrderAccepted, OrderFilled
from schemas.names import ORDERS_ACCEPTED, ORDERS_FILLED, broker_subject
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.errors import Crash
from supervisors.runner import ActorProcess
from supervisors.supervisor import Supervisor
from tests.actors.portfolio.test_attribution import fill
from tests.conftest import NatsServer
from tests.stores.conftest import database_server, fresh_database_url  # noqa: F401 - fixtures
from tests.supervisors.fakes import supervisor

D = Decimal
FILLS = 120


@pytest.fixture
async def fresh_bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    bus = await Bus.connect(fresh_nats.url, name="tests")
    await bootstrap_streams(bus, "test")
    yield bus
    await bus.close()


@pytest.fixture(params=["file", "postgres"])
async def stores(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_database_url: str,  # noqa: F811
) -> AsyncIterator[Stores]:
    shared = Stores(None, fresh_database_url if request.param == "postgres" else None, tmp_path)
    yield shared
    await shared.close()


async def publish(bus: Bus) -> list[OrderFilled]:
    """FILLS fills, each after its order's acceptance: 2 x FILLS order events."""
    fills = [fill("mom", Side.BUY if n % 2 else Side.SELL, 1, "100") for n in range(FILLS)]
    for f in fills:
        accepted = OrderAccepted(
            client_order_id=f.client_order_id, broker_order_id=f.broker_order_id,
            instrument_token=f.instrument_token,
        )  # fmt: skip
        await bus.publish(broker_subject("paper", ORDERS_ACCEPTED),
                          new_envelope(accepted, source="paper"))  # fmt: skip
        await bus.publish(broker_subject("paper", ORDERS_FILLED), new_envelope(f, source="paper"))
    return fills


class DiesBeforeItsFirstAck(PortfolioActor):
    """Writes its first batch's rows to the ledger, then dies before the batch is acked."""

    died_after: int | None = None

    async def on_stored(self, outputs: int) -> None:
        await super().on_stored(outputs)
        if DiesBeforeItsFirstAck.died_after is None:
            DiesBeforeItsFirstAck.died_after = self.book.fills
            raise Crash("killed between the ledger write and the ack")


async def run_until(
    bus: Bus, make: Callable[[], PortfolioActor], fills: int, starts: int = 1
) -> PortfolioActor:
    """Runs a supervised portfolio (a fresh actor per start) until the actor of the
    `starts`-th start has `fills` fills."""
    started: list[PortfolioActor] = []

    def start() -> ActorProcess:
        started.append(make())
        return ActorProcess(started[-1], bus)

    sup = Supervisor(supervisor("s", [ChildSpec("portfolio-paper", start)]))
    task = asyncio.create_task(sup.run(lambda: None))
    async with asyncio.timeout(30):
        while len(started) < starts or started[-1].book.fills < fills:
            await asyncio.sleep(0.02)
    sup.request_stop()
    await asyncio.wait_for(task, 15)
    return started[-1]


@pytest.mark.timeout(90)
async def test_each_batch_of_inputs_is_one_durable_ledger_step(
    fresh_bus: Bus, stores: Stores
) -> None:
    fills = await publish(fresh_bus)

    await run_until(
        fresh_bus, lambda: PortfolioActor("paper", stores, starting_cash=D("1e6")), FILLS
    )

    ledger = await stores.ledger()
    assert [r.fill_id for r in await ledger.fills("paper")] == [f.fill_id for f in fills]
    assert len(await ledger.orders("paper")) == FILLS  # the acceptances
    # 240 inputs reached the ledger in batches, not one durable step each
    assert 1 <= ledger.commits <= FILLS, ledger.commits


@pytest.mark.timeout(90)
async def test_a_crash_between_the_ledger_write_and_the_ack_is_redelivered_once(
    fresh_bus: Bus, stores: Stores
) -> None:
    fills = await publish(fresh_bus)
    DiesBeforeItsFirstAck.died_after = None
    made: list[type[PortfolioActor]] = [DiesBeforeItsFirstAck, PortfolioActor]

    def make() -> PortfolioActor:
        kind = made.pop(0) if made else PortfolioActor
        return kind("paper", stores, starting_cash=D("1e6"), pnl_interval_s=3600)

    last = await run_until(fresh_bus, make, FILLS, starts=2)

    assert DiesBeforeItsFirstAck.died_after, "the first actor died after a stored batch"
    assert type(last) is PortfolioActor and last.book.fills == FILLS
    ledger = await stores.ledger()
    rows = await ledger.fills("paper")
    assert [r.fill_id for r in rows] == [f.fill_id for f in fills]  # none lost, none twice
    assert len(await ledger.orders("paper")) == FILLS
    assert last.book.cash == D("1e6")  # as many sold at 100 as bought: nothing doubled
