"""The risk engine's state: fills, closed orders, redelivery, snapshots, invariants."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.risk.engine import RiskEngine
from actors.risk.limits import RiskLimits
from schemas.enums import Side, TradingState
from tests.actors.risk.factories import (
    STRATEGIES,
    A,
    B,
    D,
    engine,
    evaluate,
    filled,
    hold,
    signal,
)


def test_fills_move_pending_into_the_position_and_realize_at_the_average_price() -> None:
    eng = engine()
    assert evaluate(eng, signal(Side.BUY, 10, "100"), 0, "b").accepted
    assert eng.on_fill(filled("b", Side.BUY, 4, "100", final=False, n=1))
    assert (eng.position(A), eng.projected_position(A), eng.open_orders) == (4, 10, 1)
    assert eng.on_fill(filled("b", Side.BUY, 6, "100", final=True, n=2))
    assert (eng.position(A), eng.projected_position(A), eng.open_orders) == (10, 10, 0)
    assert evaluate(eng, signal(Side.SELL, 4, "110"), 0, "s").accepted
    eng.on_fill(filled("s", Side.SELL, 4, "110"))
    # (110 - 100) x 4 = 40
    assert eng.realized_pnl == D("40")
    assert eng.on_fill(filled("s", Side.SELL, 4, "110")) is False  # same fill id again
    assert eng.position(A) == 6


def test_a_closed_partially_filled_order_releases_only_its_unfilled_rest() -> None:
    eng = engine()
    assert evaluate(eng, signal(Side.BUY, 10), 0, "b").accepted
    eng.on_fill(filled("b", Side.BUY, 3, "100", final=False))
    eng.on_order_closed("b", filled_qty=3)
    assert (eng.position(A), eng.projected_position(A), eng.open_orders) == (3, 3, 0)


def test_a_redelivered_signal_is_not_counted_twice() -> None:
    eng = engine(max_position_qty=15)
    first = evaluate(eng, signal(quantity=10), 0, "o1")
    assert evaluate(eng, signal(quantity=10), 1, "o1") == first
    assert eng.projected_position(A) == 10


def test_a_rejected_signal_leaves_no_trace() -> None:
    eng = engine(max_position_qty=5)
    before = eng.snapshot()
    evaluate(eng, signal(quantity=6), 0, "o1")
    assert eng.snapshot() == before


def test_a_snapshot_is_json_and_restores_the_same_decisions() -> None:
    eng = engine(max_position_qty=100, rate_limit_per_s=D(1), burst=3)
    hold(eng, Side.BUY, 40, "100.05")
    evaluate(eng, signal(quantity=30), 5, "p1")
    eng.mark(A, D("101.10"))
    eng.set_trading_state(TradingState.REDUCING)
    text = json.dumps(eng.snapshot())
    restored = engine(max_position_qty=100, rate_limit_per_s=D(1), burst=3)
    restored.restore(json.loads(text))
    assert restored.snapshot() == eng.snapshot()
    assert restored.trading_state is TradingState.REDUCING
    for i, s in enumerate([signal(Side.SELL, 50), signal(Side.SELL, 80), signal()]):
        assert evaluate(restored, s, 6, f"n{i}") == evaluate(eng, s, 6, f"n{i}")


ops_st = st.lists(
    st.one_of(
        st.tuples(
            st.just("signal"),
            st.sampled_from([A, B]),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(min_value=1, max_value=80),
            st.integers(min_value=50, max_value=150),
        ),
        st.tuples(st.just("fill"), st.integers(min_value=0, max_value=30), st.booleans()),
        st.tuples(st.just("close"), st.integers(min_value=0, max_value=30)),
        st.tuples(
            st.just("mark"), st.sampled_from([A, B]), st.integers(min_value=50, max_value=150)
        ),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops_st)
def test_no_sequence_of_events_lets_an_accepted_order_break_position_or_exposure_limits(
    ops: list[tuple[object, ...]],
) -> None:
    limits = RiskLimits(
        max_position_qty=100,
        max_gross_exposure=D("15000"),
        max_open_orders=5,
        rate_limit_per_s=D(1000),
        burst=1000,
    )
    eng = RiskEngine(limits, STRATEGIES)
    open_orders: dict[str, tuple[int, Side, int, int]] = {}  # coid -> token, side, left, n
    for i, op in enumerate(ops):
        if op[0] == "signal":
            _, token, side, qty, price = op
            assert isinstance(token, int) and isinstance(side, Side)
            assert isinstance(qty, int) and isinstance(price, int)
            before = eng.projected_position(token)
            decision = evaluate(eng, signal(side, qty, str(price), token=token), i, f"o{i}")
            after = eng.projected_position(token)
            if decision.accepted:
                open_orders[f"o{i}"] = (token, side, qty, 0)
                assert after == before + side.sign * qty
                if abs(after) > abs(before):
                    assert abs(after) <= 100
                    assert eng.gross_exposure() <= D("15000")
                assert eng.open_orders <= 5
            else:
                assert after == before
        elif op[0] == "fill" and open_orders:
            _, pick, whole = op
            assert isinstance(pick, int)
            coid = sorted(open_orders)[pick % len(open_orders)]
            token, side, left, n = open_orders[coid]
            qty = left if whole else max(1, left // 2)
            eng.on_fill(filled(coid, side, qty, "100", token=token, final=qty == left, n=n + 1))
            if qty == left:
                del open_orders[coid]
            else:
                open_orders[coid] = (token, side, left - qty, n + 1)
        elif op[0] == "close" and open_orders:
            _, pick = op
            assert isinstance(pick, int)
            coid = sorted(open_orders)[pick % len(open_orders)]
            assert eng.on_order_closed(coid)
            del open_orders[coid]
        elif op[0] == "mark":
            _, token, price = op
            assert isinstance(token, int) and isinstance(price, int)
            eng.mark(token, D(price))
        assert eng.open_orders == len(open_orders)
