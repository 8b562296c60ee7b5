"""Time and ids are injected: the envelope takes them from the clock and id source given."""

from __future__ import annotations

from decimal import Decimal

from schemas.clock import SeededIds, SimClock
from schemas.envelope import new_envelope
from schemas.events import MarketTick

TICK = MarketTick(instrument_token=408065, last_price=Decimal("1500.00"))


def test_an_envelope_takes_its_time_and_id_from_the_injected_clock_and_ids() -> None:
    clock = SimClock(1_732_506_300_000_000_000)
    env = new_envelope(TICK, source="test", clock=clock, ids=SeededIds(9, clock))
    again = new_envelope(TICK, source="test", clock=clock, ids=SeededIds(9, clock))
    assert env.ts == 1_732_506_300_000_000_000
    assert env.id == again.id and len(env.id) == 26


def test_the_simulated_clock_never_runs_backwards() -> None:
    clock = SimClock()
    clock.set(10)
    clock.set(5)
    assert clock.now_ns() == 10
