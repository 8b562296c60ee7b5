"""A Kite venue on a running simulator, driven as the execution actor drives it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kiteconnect import KiteConnect
from kiteconnect.exceptions import NetworkException

from actors.execution.market import MarketView
from actors.execution.venue import Place
from actors.instruments import InstrumentBook
from actors.kite.order_limits import OrderLimits
from actors.kite.venue import KiteVenue, KiteVenueConfig
from schemas.enums import OrderType, Side
from schemas.events import Event, OrderAccepted, OrderFailed, OrderFilled, OrderSubmitted
from schemas.ids import generate_event_id
from tests.ops.sim.conftest import RunningSim

BOOK = InstrumentBook.default()
FAST = KiteVenueConfig(timeout_s=1.0, poll_s=0.25, idle_poll_s=60.0, backoff_min_s=0.05,
                       backoff_max_s=0.5, send_deadline_s=20.0, halt_after_failures=3)  # fmt: skip


@dataclass
class Driven:
    venue: KiteVenue
    task: asyncio.Task[None]
    events: list[Event] = field(default_factory=list)
    halts: list[str] = field(default_factory=list)

    async def until(
        self, done: Callable[[], bool], timeout_s: float = 45.0, every_s: float = 0.02
    ) -> None:
        """Drain the venue's events (as the actor's timer does) until `done()` holds
        (`every_s`: a predicate that asks the simulator stays within its 10 requests/s)."""
        async with asyncio.timeout(timeout_s):
            while True:
                self.events.extend(self.venue.drain())
                if done():
                    return
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(every_s)

    def of(self, kind: type[Event], coid: str | None = None) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)
                and (coid is None or getattr(e, "client_order_id", None) == coid)]  # fmt: skip

    def closed(self, coid: str) -> bool:
        o = self.venue.order(coid)
        return o is not None and not o.is_open

    async def place(self, place: Place, *, redelivered: bool = False) -> list[Event]:
        answer = await self.venue.execute(place, redelivered=redelivered)
        self.events.extend(answer)
        self.venue.release()  # as the actor does once the order is stored
        return answer


@contextlib.asynccontextmanager
async def driven(
    kite: KiteConnect, config: KiteVenueConfig = FAST, account: str | None = None
) -> AsyncIterator[Driven]:
    venue = KiteVenue(kite, BOOK, account=account or generate_event_id(), config=config,
                      limits=OrderLimits())  # fmt: skip
    task = asyncio.create_task(venue.run(), name="kite-venue-under-test")
    d = Driven(venue, task)

    async def halt(reason: str) -> None:
        d.halts.append(reason)

    venue.on_halt = halt
    try:
        yield d
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def market_order(
    symbol: str = "HDFCBANK", quantity: int = 1, side: Side = Side.BUY, *,
    order_type: OrderType = OrderType.MARKET, limit: Decimal | None = None,
    coid: str | None = None,
) -> Place:  # fmt: skip
    inst = BOOK.by_symbol(symbol)
    assert inst is not None
    order = OrderSubmitted(
        client_order_id=coid or generate_event_id(), signal_id=generate_event_id(),
        strategy_id="test", instrument_token=inst.instrument_token, side=side,
        quantity=quantity * inst.lot_size, symbol=symbol, order_type=order_type,
        limit_price=limit,
    )  # fmt: skip
    return Place(order=order, market=MarketView(last_price=limit), ts_ns=1)


def tags_at_kite(sim: RunningSim) -> Counter[str]:
    """How many orders Kite holds of each tag (asking again when the simulator's 10 requests
    a second, shared with the venue under test, answer 429)."""
    for _ in range(50):
        try:
            return Counter(str(o.get("tag")) for o in sim.client().orders())
        except NetworkException:
            time.sleep(0.2)
    raise AssertionError("the simulator kept answering 429")


def pending_faults(sim: RunningSim) -> dict[str, Any]:
    import httpx

    r = httpx.post(f"{sim.env['KITE_ROOT']}/_sim/faults", json={}, timeout=5)
    data: dict[str, Any] = r.json()["data"]
    return data


def assert_ledger_matches_kite(d: Driven, sim: RunningSim) -> None:
    """Every Kite order is one of ours, exactly once; every order of ours that Kite did not
    refuse is at Kite exactly once; no fill twice."""
    at_kite = tags_at_kite(sim)
    assert all(n == 1 for n in at_kite.values()), f"a tag placed twice: {at_kite}"
    ours = {d.venue.tag_for(e.client_order_id) for e in d.of(OrderAccepted)}
    failed = {d.venue.tag_for(e.client_order_id) for e in d.of(OrderFailed)}
    assert set(at_kite) == ours, (
        f"orphaned at Kite: {set(at_kite) - ours}, lost: {ours - set(at_kite)}"
    )
    assert not (failed & set(at_kite)) or all(
        e.reason == "BROKER_REJECTED"
        for e in d.of(OrderFailed)
        if d.venue.tag_for(e.client_order_id) in at_kite
    )
    fill_ids = [f.fill_id for f in d.of(OrderFilled)]
    assert len(fill_ids) == len(set(fill_ids))
