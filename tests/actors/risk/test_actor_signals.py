"""The risk actor looks a signal's tick up only for a strategy that may trade it."""

from __future__ import annotations

from decimal import Decimal

from actors.risk.actor import RiskManager
from actors.risk.limits import RiskLimits
from schemas.enums import RejectReason, Side
from schemas.envelope import Envelope, new_envelope
from schemas.events import Event, RejectedSignal, TradingSignal
from supervisors.actor import Context

RELIANCE = 738561


async def test_a_signal_of_an_unconfigured_strategy_is_refused_without_reading_market() -> None:
    risk = RiskManager("paper", RiskLimits(), strategies={"s": frozenset({RELIANCE})})
    assert risk.ticks.bus is None  # a read of MARKET would crash the actor
    signal = TradingSignal(
        strategy_id="intruder", instrument_token=RELIANCE, side=Side.BUY, quantity=1,
        reference_price=Decimal("100.05"), tick_seq=5,
    )  # fmt: skip
    env: Envelope[Event] = new_envelope(signal, source="intruder", broker="paper")
    ctx = Context(risk.name, "paper", env, stored_ms=10**12)
    await risk.on_event(env, ctx)
    [out] = ctx.outputs
    rejected = out.envelope.data
    assert isinstance(rejected, RejectedSignal)
    assert (rejected.signal_id, rejected.reason) == (env.id, RejectReason.UNKNOWN_STRATEGY)
    assert out.envelope.causation_id == env.id
    assert risk.ticks.reads == 0
    assert risk.stats()["pipeline"]["rejections"] == {"UNKNOWN_STRATEGY": 1}
