"""The risk engine trusts no signal: only configured strategies on their own instruments
pass, and orders are valued at the tick risk read from MARKET, never at a claimed price."""

from __future__ import annotations

from actors.instruments import InstrumentBook
from actors.named_tick import TickRefusal
from actors.risk.engine import Decision, RiskEngine
from actors.risk.limits import RiskLimits
from actors.strategies.config import allowed_instruments, parse_strategies
from schemas.enums import OrderType, RejectReason, Side, TradingState
from schemas.events import TradingSignal
from tests.actors.risk.factories import A, B, D, engine, evaluate, named, signal

R = RejectReason
RELIANCE, INFY, TCS = 738561, 408065, 2953217


def forged(
    strategy: str = "s", token: int = A, *, quantity: int = 10, limit: str | None = None
) -> TradingSignal:
    """A signal whose every price says 100.05: what a forger claims the market is."""
    return TradingSignal(
        strategy_id=strategy, instrument_token=token, side=Side.BUY, quantity=quantity,
        reference_price=D("100.05"), bid=D("100.00"), ask=D("100.05"),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=D(limit) if limit else None, tick_seq=7, tick_id="tick-7",
    )  # fmt: skip


def test_a_signal_of_a_strategy_that_is_not_configured_is_refused_first() -> None:
    eng = engine()
    eng.set_trading_state(TradingState.HALTED)  # even before the trading state
    decision = eng.evaluate(forged("intruder-unconfigured"), 0, "o1", named("1400.00"))
    assert decision == Decision(
        accepted=False,
        reason=R.UNKNOWN_STRATEGY,
        detail="strategy 'intruder-unconfigured' is not configured and enabled for this "
        "broker; only the strategies of the configuration (strategies.yaml or the "
        "strategies table) may trade",
    )
    assert eng.open_orders == 0


def test_a_configured_strategy_may_trade_only_its_own_instruments() -> None:
    eng = RiskEngine(RiskLimits(), {"s": frozenset({A})})
    decision = eng.evaluate(forged("s", B), 0, "o1", named("1400.00", B))
    assert decision == Decision(
        accepted=False,
        reason=R.INSTRUMENT_NOT_ALLOWED,
        detail=f"strategy 's' does not trade instrument {B}; add it to the strategy's "
        "instruments to trade it",
    )
    assert evaluate(eng, signal(token=A), 0, "o2").accepted


def test_disabled_strategies_and_those_of_another_broker_are_unknown_to_the_broker() -> None:
    configs = parse_strategies(
        [
            {"id": "live", "type": "momentum", "instruments": ["RELIANCE", "INFY"]},
            {"id": "off", "type": "momentum", "instruments": ["RELIANCE"], "enabled": False},
            {"id": "elsewhere", "type": "momentum", "instruments": ["RELIANCE"],
             "brokers": ["zerodha"]},
        ],
        InstrumentBook.default(),
    )  # fmt: skip
    allowed = allowed_instruments(configs, "paper")
    assert allowed == {"live": frozenset({RELIANCE, INFY})}
    eng = RiskEngine(RiskLimits(), allowed)
    tick = named("1400.00", RELIANCE)
    assert eng.evaluate(forged("live", RELIANCE), 0, "o1", tick).accepted
    assert eng.evaluate(forged("off", RELIANCE), 0, "o2", tick).reason is R.UNKNOWN_STRATEGY
    assert eng.evaluate(forged("elsewhere", RELIANCE), 0, "o3", tick).reason is (R.UNKNOWN_STRATEGY)
    assert eng.evaluate(forged("live", TCS), 0, "o4", named("4000.00", TCS)).reason is (
        R.INSTRUMENT_NOT_ALLOWED
    )
    assert allowed_instruments(configs, "zerodha") == {"elsewhere": frozenset({RELIANCE})}


def test_an_engine_without_configuration_lets_no_signal_through() -> None:
    decision = RiskEngine().evaluate(forged(), 0, "o1", named("100.05"))
    assert decision.reason is R.UNKNOWN_STRATEGY


def test_a_signal_without_its_tick_is_refused_with_the_lookups_reason() -> None:
    eng = engine()
    unknown = TickRefusal(reason=R.UNKNOWN_TICK, detail="MARKET holds no message at sequence 7")
    stale = TickRefusal(reason=R.STALE_TICK, detail="tick 7 is 40000 ms older than the signal")
    assert eng.evaluate(forged(), 0, "o1", unknown) == Decision(
        accepted=False, reason=R.UNKNOWN_TICK, detail="MARKET holds no message at sequence 7"
    )
    assert eng.evaluate(forged(), 0, "o2", stale).reason is R.STALE_TICK
    # the checks of the signal itself come first: a bad quantity is INVALID_SIGNAL
    assert eng.evaluate(forged(quantity=0), 0, "o3", unknown).reason is R.INVALID_SIGNAL
    eng.set_trading_state(TradingState.HALTED)
    assert eng.evaluate(forged(), 0, "o4", unknown).reason is R.TRADING_HALTED
    assert eng.open_orders == 0


def test_the_collar_measures_a_limit_from_the_tick_not_from_the_price_the_signal_claims() -> None:
    eng = engine()
    # claims reference 100.05: a limit of 100.05 would be 0% off; RELIANCE trades at 1400.00:
    # |100.05 - 1400.00| x 100 / 1400.00 = 1299.95 / 14 = 92.853...% > 5%
    decision = eng.evaluate(forged(limit="100.05"), 0, "o1", named("1400.00"))
    assert decision == Decision(
        accepted=False,
        reason=R.PRICE_COLLAR,
        detail="limit 100.05 is 92.85% from reference 1400.00 (collar 5%)",
    )


def test_the_notional_of_a_market_order_is_the_ticks_price_times_the_quantity() -> None:
    eng = engine()  # max_order_notional 500000
    # at the claimed 100.05, 1000 shares would be 100050.00 and pass; at 1400.00 they do not
    decision = eng.evaluate(forged(quantity=1000), 0, "o1", named("1400.00"))
    assert decision == Decision(
        accepted=False, reason=R.MAX_ORDER_NOTIONAL, detail="notional 1400000.00 > 500000"
    )
    assert eng.evaluate(forged(quantity=10), 0, "o2", named("1400.00")).accepted
    # the accepted order is exposure at the tick's price: 10 x 1400.00
    assert eng.gross_exposure() == D("14000.00")


def test_a_tick_without_a_price_is_no_market_price() -> None:
    decision = engine().evaluate(forged(), 0, "o1", named("0"))
    assert (decision.reason, decision.detail) == (
        R.NO_MARKET_PRICE,
        "the named tick has no last price > 0 (got 0)",
    )


def test_a_refused_signal_leaves_no_trace() -> None:
    eng = engine()
    before = eng.snapshot()
    eng.evaluate(forged("intruder"), 0, "o1", named("1400.00"))
    eng.evaluate(forged(token=TCS), 0, "o2", named("1400.00", TCS))
    eng.evaluate(forged(), 0, "o3", TickRefusal(reason=R.UNKNOWN_TICK, detail="x"))
    assert eng.snapshot() == before
