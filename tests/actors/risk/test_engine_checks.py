"""The risk engine's checks: every reject reason from a minimal scenario, in order."""

from __future__ import annotations

from actors.risk.engine import Decision, RiskEngine
from actors.risk.limits import RiskLimits
from schemas.enums import OrderType, RejectReason, Side, TradingState
from tests.actors.risk.factories import (
    STRATEGIES,
    A,
    B,
    D,
    S,
    engine,
    evaluate,
    filled,
    hold,
    signal,
)

R = RejectReason


def reason(decision: Decision) -> RejectReason | None:
    return decision.reason


def test_a_signal_within_every_limit_is_accepted_and_counted_as_pending() -> None:
    eng = engine()
    decision = evaluate(eng, signal(quantity=10), ts_ns=0, client_order_id="o1")
    assert decision == Decision(accepted=True, reason=None, detail="")
    assert (eng.open_orders, eng.projected_position(A), eng.position(A)) == (1, 10, 0)


def test_halted_trading_rejects_everything_even_a_reducing_order() -> None:
    eng = engine()
    hold(eng, Side.BUY, 10, "100")
    eng.set_trading_state(TradingState.HALTED)
    assert reason(evaluate(eng, signal(Side.SELL, 5), 0, "o1")) is R.TRADING_HALTED
    assert reason(evaluate(eng, signal(quantity=0), 0, "o2")) is R.TRADING_HALTED


def test_reducing_allows_only_orders_that_shrink_the_projected_position() -> None:
    eng = engine()
    eng.set_trading_state(TradingState.REDUCING)
    assert reason(evaluate(eng, signal(Side.BUY, 1), 0, "o1")) is R.REDUCE_ONLY  # flat
    eng.set_trading_state(TradingState.ACTIVE)
    hold(eng, Side.BUY, 10, "100")
    eng.set_trading_state(TradingState.REDUCING)
    assert evaluate(eng, signal(Side.SELL, 4), 0, "o2").accepted  # 10 -> projected 6
    # projected 6: selling 7 would flip to -1, which is new exposure
    assert reason(evaluate(eng, signal(Side.SELL, 7), 0, "o3")) is R.REDUCE_ONLY
    assert reason(evaluate(eng, signal(Side.BUY, 1), 0, "o4")) is R.REDUCE_ONLY
    assert evaluate(eng, signal(Side.SELL, 6), 0, "o5").accepted  # 6 -> 0


def test_a_non_positive_quantity_or_a_limit_without_price_is_an_invalid_signal() -> None:
    eng = engine()
    assert reason(evaluate(eng, signal(quantity=0), 0, "o1")) is R.INVALID_SIGNAL
    assert reason(evaluate(eng, signal(quantity=-5), 0, "o2")) is R.INVALID_SIGNAL
    no_price = signal(order_type=OrderType.LIMIT)
    assert reason(evaluate(eng, no_price, 0, "o3")) is R.INVALID_SIGNAL
    assert eng.open_orders == 0


def test_a_market_signal_without_a_reference_price_has_no_market_price() -> None:
    assert reason(evaluate(engine(), signal(ref="0"), 0, "o1")) is R.NO_MARKET_PRICE


def test_a_limit_price_outside_the_collar_around_the_reference_is_refused() -> None:
    eng = engine(price_collar_pct=D("5"))
    # reference 100, collar 5% -> limits in [95, 105] pass
    assert evaluate(eng, signal(limit="105.00"), 0, "o1").accepted
    assert evaluate(eng, signal(Side.SELL, limit="95.00"), 0, "o2").accepted
    assert reason(evaluate(eng, signal(limit="105.05"), 0, "o3")) is R.PRICE_COLLAR
    decision = evaluate(eng, signal(Side.SELL, limit="94.95"), 0, "o4")
    assert reason(decision) is R.PRICE_COLLAR
    assert "5.05%" in decision.detail


def test_order_notional_uses_the_limit_price_or_else_the_reference() -> None:
    eng = engine(max_order_notional=D("100000"))
    assert evaluate(eng, signal(quantity=1000, ref="100"), 0, "o1").accepted  # 100,000
    assert reason(evaluate(eng, signal(quantity=1001), 0, "o2")) is R.MAX_ORDER_NOTIONAL
    # 990 x 101.05 = 100,039.50 > 100,000 (at the reference it would be 99,000)
    decision = evaluate(eng, signal(quantity=990, limit="101.05"), 0, "o3")
    assert reason(decision) is R.MAX_ORDER_NOTIONAL
    assert "100039.50" in decision.detail


def test_two_quick_signals_cannot_both_pass_the_position_limit() -> None:
    eng = engine(max_position_qty=100)
    assert reason(evaluate(eng, signal(quantity=101), 0, "o1")) is R.MAX_POSITION
    assert evaluate(eng, signal(quantity=60), 0, "o2").accepted
    # nothing filled yet, but 60 pending + 60 = 120 > 100
    assert reason(evaluate(eng, signal(quantity=60), 0, "o3")) is R.MAX_POSITION
    assert evaluate(eng, signal(quantity=40), 0, "o4").accepted


def test_a_position_over_a_lowered_limit_can_still_be_reduced() -> None:
    eng = engine(max_position_qty=1000)
    hold(eng, Side.BUY, 500, "10")
    lowered = RiskEngine(RiskLimits(max_position_qty=100), STRATEGIES)
    lowered.restore(eng.snapshot())
    assert evaluate(lowered, signal(Side.SELL, 100, "10"), 0, "o1").accepted  # 500 -> 400
    assert reason(evaluate(lowered, signal(Side.BUY, 1, "10"), 0, "o2")) is R.MAX_POSITION


def test_gross_exposure_sums_every_instrument_at_its_last_price() -> None:
    eng = engine(max_gross_exposure=D("50000"))
    hold(eng, Side.BUY, 300, "100", token=A)  # 300 x 100 = 30,000
    # + 250 x 100 = 25,000 on B -> 55,000 > 50,000
    assert reason(evaluate(eng, signal(quantity=250, token=B), 0, "o1")) is R.MAX_GROSS_EXPOSURE
    assert evaluate(eng, signal(quantity=200, token=B), 0, "o2").accepted  # 50,000 exactly
    eng.mark(A, D("90"))
    # A at 90: 27,000 + pending B 200 x 100 = 20,000 -> 47,000 ; +30 x 100 = 50,000
    assert eng.gross_exposure() == D("47000")
    assert evaluate(eng, signal(quantity=30, token=B), 0, "o3").accepted
    assert reason(evaluate(eng, signal(quantity=1, token=B), 0, "o4")) is R.MAX_GROSS_EXPOSURE
    # at the limit, closing a position is still allowed: it does not add exposure
    assert evaluate(eng, signal(Side.SELL, 300, "90", token=A), 0, "o5").accepted


def test_open_orders_are_capped_until_one_closes() -> None:
    eng = engine(max_open_orders=2)
    assert evaluate(eng, signal(), 0, "o1").accepted
    assert evaluate(eng, signal(), 0, "o2").accepted
    assert reason(evaluate(eng, signal(), 0, "o3")) is R.MAX_OPEN_ORDERS
    assert eng.on_order_closed("o1", filled_qty=0) is True
    assert eng.on_order_closed("o1", filled_qty=0) is False
    assert eng.projected_position(A) == 10
    assert evaluate(eng, signal(), 0, "o4").accepted


def test_at_the_daily_loss_limit_only_reducing_orders_pass() -> None:
    eng = engine(daily_loss_limit=D("1000"))
    hold(eng, Side.BUY, 100, "100")
    eng.mark(A, D("90"))  # unrealized (90 - 100) x 100 = -1,000 <= -1,000
    assert eng.daily_pnl == D("-1000")
    assert reason(evaluate(eng, signal(Side.BUY, 1, "90"), 0, "o1")) is R.DAILY_LOSS_LIMIT
    assert reason(evaluate(eng, signal(Side.BUY, 1, "90", token=B), 0, "o2")) is R.DAILY_LOSS_LIMIT
    assert evaluate(eng, signal(Side.SELL, 50, "90"), 0, "o3").accepted


def test_the_daily_loss_counts_realized_pnl_net_of_charges() -> None:
    eng = engine(daily_loss_limit=D("1000"))
    assert evaluate(eng, signal(Side.BUY, 100, "100"), 0, "b").accepted
    eng.on_fill(filled("b", Side.BUY, 100, "100", charges="4"))
    assert evaluate(eng, signal(Side.SELL, 100, "90.10"), 0, "s").accepted
    eng.on_fill(filled("s", Side.SELL, 100, "90.10", charges="6"))
    # realized (90.10 - 100) x 100 = -990 ; charges 4 + 6 = 10 ; net -1,000
    assert (eng.realized_pnl, eng.charges, eng.daily_pnl) == (D("-990"), D("10"), D("-1000"))
    assert reason(evaluate(eng, signal(), 0, "o1")) is R.DAILY_LOSS_LIMIT
    eng.new_day()
    assert eng.daily_pnl == 0
    assert evaluate(eng, signal(), 0, "o2").accepted


def test_the_rate_limit_runs_on_event_time_and_only_accepted_orders_spend_tokens() -> None:
    eng = engine(rate_limit_per_s=D(1), burst=2)
    assert reason(evaluate(eng, signal(quantity=0), 0, "bad")) is R.INVALID_SIGNAL
    assert evaluate(eng, signal(), 0, "o1").accepted
    assert evaluate(eng, signal(), 0, "o2").accepted
    assert reason(evaluate(eng, signal(), 0, "o3")) is R.RATE_LIMIT
    assert reason(evaluate(eng, signal(), S // 2, "o4")) is R.RATE_LIMIT  # half a token back
    assert evaluate(eng, signal(), S, "o5").accepted


def test_checks_run_in_the_documented_order() -> None:
    eng = engine(max_order_notional=D("1000"), price_collar_pct=D("1"))
    # breaks both the collar (10%) and the notional (10 x 110 = 1,100): the collar comes first
    assert reason(evaluate(eng, signal(limit="110"), 0, "o1")) is R.PRICE_COLLAR
    eng.set_trading_state(TradingState.HALTED)
    assert reason(evaluate(eng, signal(quantity=0), 0, "o2")) is R.TRADING_HALTED
    assert RiskEngine.CHECK_ORDER[:3] == (
        R.UNKNOWN_STRATEGY, R.INSTRUMENT_NOT_ALLOWED, R.TRADING_HALTED,
    )  # fmt: skip
    assert RiskEngine.CHECK_ORDER[-1] is R.RATE_LIMIT
