"""The running sums risk decides exposure and daily loss by equal the full sums."""

from __future__ import annotations

import json

from hypothesis import given, settings

from actors.risk.engine import RiskEngine
from actors.risk.limits import RiskLimits
from schemas.enums import Side
from tests.actors.risk.factories import STRATEGIES, A, D, evaluate, filled, signal
from tests.actors.risk.test_engine_state import ops_st


def _agree(eng: RiskEngine) -> None:
    running = eng._sums()
    assert running.unrealized == eng.unrealized_pnl
    assert running.gross == eng.gross_exposure()
    for token in (A, 1):
        for qty in (-7, 0, 12):
            assert running.gross_with(token, qty, D("99.95")) == eng.gross_exposure(
                (token, qty, D("99.95"))
            )


@settings(max_examples=300, deadline=None)
@given(ops=ops_st)
def test_running_sums_follow_every_signal_fill_close_mark_and_restore(
    ops: list[tuple[object, ...]],
) -> None:
    limits = RiskLimits(max_position_qty=100, rate_limit_per_s=D(1000), burst=1000)
    eng = RiskEngine(limits, STRATEGIES)
    open_orders: dict[str, tuple[int, Side, int, int]] = {}  # coid -> token, side, left, n
    for i, op in enumerate(ops):
        if op[0] == "signal":
            _, token, side, qty, price = op
            assert isinstance(token, int) and isinstance(side, Side)
            assert isinstance(qty, int) and isinstance(price, int)
            if evaluate(eng, signal(side, qty, f"{price}.05", token=token), i, f"o{i}").accepted:
                open_orders[f"o{i}"] = (token, side, qty, 0)
        elif op[0] == "fill" and open_orders:
            _, pick, whole = op
            assert isinstance(pick, int)
            coid = sorted(open_orders)[pick % len(open_orders)]
            token, side, left, n = open_orders[coid]
            qty = left if whole else max(1, left // 2)
            fill = filled(coid, side, qty, "100.1", token=token, final=qty == left, n=n + 1)
            eng.on_fill(fill)
            if qty == left:
                del open_orders[coid]
            else:
                open_orders[coid] = (token, side, left - qty, n + 1)
        elif op[0] == "close" and open_orders:
            _, pick = op
            assert isinstance(pick, int)
            coid = sorted(open_orders)[pick % len(open_orders)]
            eng.on_order_closed(coid, filled_qty=0)
            del open_orders[coid]
        elif op[0] == "mark":
            _, token, price = op
            assert isinstance(token, int) and isinstance(price, int)
            eng.mark(token, D(price))
        _agree(eng)
    restored = RiskEngine(limits, STRATEGIES)
    restored.restore(json.loads(json.dumps(eng.snapshot())))
    _agree(restored)
    assert restored._sums().gross == eng._sums().gross
