"""The engine's id history is a bounded window: a day of orders does not grow its memory."""

from __future__ import annotations

from actors.risk.engine import RECENT_IDS
from schemas.enums import Side
from tests.actors.risk.factories import engine, evaluate, filled, signal


def test_fill_and_order_ids_stay_within_the_window_over_a_day_of_orders() -> None:
    eng = engine()
    for n in range(RECENT_IDS + 500):
        coid, side = f"o{n}", (Side.BUY, Side.SELL)[n % 2]  # flat: no position limit
        assert evaluate(eng, signal(side, 1), n * 10**9, coid).accepted
        assert eng.on_fill(filled(coid, side, 1, "100", final=True, n=1))
    state = eng.state()
    assert len(state.fill_ids) == RECENT_IDS and len(state.accepted_ids) == RECENT_IDS
    assert eng.position(signal(Side.BUY, 1).instrument_token) == 0
    # a recent fill again is still refused by the window itself
    assert eng.on_fill(filled(f"o{RECENT_IDS + 499}", Side.SELL, 1, "100", final=True)) is False


def test_an_open_order_past_the_window_is_still_accepted_again_without_counting_twice() -> None:
    eng = engine()
    assert evaluate(eng, signal(Side.BUY, 5), 0, "first").accepted
    for n in range(RECENT_IDS + 1):  # push "first" out of the accepted window
        coid, side = f"o{n}", (Side.SELL, Side.BUY)[n % 2]
        assert evaluate(eng, signal(side, 1), (n + 1) * 10**9, coid).accepted
        eng.on_fill(filled(coid, side, 1, "100", final=True, n=1))
    assert "first" not in eng.state().accepted_ids
    before = eng.projected_position(signal(Side.BUY, 5).instrument_token)
    assert evaluate(eng, signal(Side.BUY, 5), 10**9, "first").accepted  # redelivered
    assert eng.projected_position(signal(Side.BUY, 5).instrument_token) == before
