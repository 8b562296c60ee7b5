"""The per-strategy figures the portfolio keeps on each fill are the ones it adds up."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.portfolio.book import Portfolio
from schemas.enums import Side
from tests.actors.portfolio.test_book import A, B, fill, prices

D = Decimal

steps_st = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3"]),
        st.sampled_from([A, B]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=500),
        prices,
        st.decimals(min_value=D("0"), max_value=D("50"), places=2),
        st.one_of(st.none(), prices),
    ),
    max_size=40,
)


def _agree(book: Portfolio) -> None:
    """Same numbers and same printed form (exponent) as the sums over every book."""
    equity, net = book.strategy_net()
    assert str(equity) == str(book.equity)
    assert equity == book.starting_cash + book.realized_pnl + book.unrealized_pnl - book.charges
    expected = {s.strategy_id: s.realized_pnl + s.unrealized_pnl - s.charges
                for s in book.strategies()}  # fmt: skip
    assert {k: str(v) for k, v in net.items()} == {k: str(v) for k, v in expected.items()}
    for s in book.strategies():
        assert str(book.strategy_realized(s.strategy_id)) == str(s.realized_pnl)
    held = {p.instrument_token for p in book.strategy_positions() if p.quantity}
    assert book.held() == held


def test_a_strategy_without_fills_has_nothing_realized() -> None:
    book = Portfolio(D("1000"))
    assert book.strategy_realized("none") == D(0)
    assert book.strategy_net() == (D("1000"), {})


@settings(max_examples=300, deadline=None)
@given(steps=steps_st)
def test_running_figures_equal_the_sums_live_and_after_a_restore(
    steps: list[tuple[str, int, Side, int, Decimal, Decimal, Decimal | None]],
) -> None:
    book = Portfolio(D("100000"))
    for sid, token, side, qty, price, charges, mark in steps:
        event = fill(side, qty, str(price), token=token, charges=str(charges))
        book.apply_fill(msgspec.structs.replace(event, strategy_id=sid))
        if mark is not None:
            book.mark(token, mark)
        _agree(book)
    restored = Portfolio.from_snapshot(book.snapshot(as_of_ns=1, last_seq=len(steps)))
    _agree(restored)
    restored.apply_fill(msgspec.structs.replace(fill(Side.BUY, 3, "7.05"), strategy_id="s2"))
    _agree(restored)
