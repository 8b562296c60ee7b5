"""The portfolio book: signed positions, average price, realized/unrealized PnL, cash."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.portfolio.book import Portfolio, apply_trade
from schemas.enums import Side
from schemas.events import Charges, OrderFilled, PnlSnapshot

D = Decimal
A, B = 408065, 738561
_seq = iter(range(1, 1_000_000))


def fill(
    side: Side,
    quantity: int,
    price: str,
    *,
    token: int = A,
    charges: str = "0",
    fill_id: str | None = None,
) -> OrderFilled:
    n = next(_seq)
    return OrderFilled(
        client_order_id=f"c{n}",
        broker_order_id=f"P-c{n}",
        fill_id=fill_id or f"c{n}-F1",
        strategy_id="s",
        instrument_token=token,
        side=side,
        quantity=quantity,
        price=D(price),
        cumulative_quantity=quantity,
        order_quantity=quantity,
        average_price=D(price),
        final=True,
        charges=Charges(brokerage=D(charges)),
    )


def test_buys_add_up_to_a_quantity_weighted_average_price() -> None:
    book = Portfolio(D("100000"))
    book.apply_fill(fill(Side.BUY, 10, "100"))
    book.apply_fill(fill(Side.BUY, 10, "110"))
    # (10 x 100 + 10 x 110) / 20 = 2100 / 20 = 105
    [pos] = book.positions()
    assert (pos.quantity, pos.average_price) == (20, D("105"))
    assert book.realized_pnl == 0


def test_a_sale_realizes_the_difference_to_the_average_price() -> None:
    book = Portfolio(D("100000"))
    book.apply_fill(fill(Side.BUY, 10, "100"))
    book.apply_fill(fill(Side.BUY, 10, "110"))
    book.apply_fill(fill(Side.SELL, 5, "120"))
    # (120 - 105) x 5 = 75 ; 15 left at 105
    assert book.realized_pnl == D("75")
    [pos] = book.positions()
    assert (pos.quantity, pos.average_price, pos.realized_pnl) == (15, D("105"), D("75"))


def test_one_fill_can_flip_a_long_into_a_short_at_the_fill_price() -> None:
    book = Portfolio(D("100000"))
    book.apply_fill(fill(Side.BUY, 10, "100"))
    book.apply_fill(fill(Side.SELL, 15, "110"))
    # closes 10: (110 - 100) x 10 = 100 realized ; opens -5 at 110
    assert book.realized_pnl == D("100")
    [pos] = book.positions()
    assert (pos.quantity, pos.average_price) == (-5, D("110"))
    book.mark(A, D("108"))
    # short 5 from 110 marked at 108: (110 - 108) x 5 = 10
    assert book.unrealized_pnl == D("10")


def test_covering_a_short_below_its_price_is_a_profit() -> None:
    book = Portfolio(D("0"))
    book.apply_fill(fill(Side.SELL, 10, "100"))
    book.apply_fill(fill(Side.BUY, 4, "90"))
    # (100 - 90) x 4 = 40 ; -6 left at 100
    assert book.realized_pnl == D("40")
    assert book.positions()[0].quantity == -6


def test_cash_moves_by_notional_and_charges_and_equity_adds_it_up() -> None:
    book = Portfolio(D("100000"))
    book.apply_fill(fill(Side.BUY, 10, "100", charges="1.00"))
    # 100,000 - 10 x 100 - 1.00 = 98,999.00
    assert book.cash == D("98999.00")
    book.mark(A, D("103"))
    # equity = 98,999 + 10 x 103 = 100,029 = 100,000 + unrealized 30 - charges 1
    assert (book.unrealized_pnl, book.equity) == (D("30"), D("100029.00"))
    book.apply_fill(fill(Side.SELL, 10, "110", charges="1.20"))
    # 98,999.00 + 1,100 - 1.20 = 100,097.80 ; realized 100 ; charges 2.20
    assert (book.cash, book.realized_pnl, book.charges) == (D("100097.80"), D(100), D("2.20"))
    assert book.equity == D("100000") + D("100") - D("2.20")


def test_a_partial_reduction_realizes_against_the_cost_rounded_to_paise() -> None:
    book = Portfolio(D("0"))
    book.apply_fill(fill(Side.BUY, 1, "100.05"))
    book.apply_fill(fill(Side.BUY, 2, "100.10"))
    # cost 100.05 + 200.20 = 300.25 over 3 ; selling 1 removes 300.25 / 3 = 100.0833 -> 100.08
    book.apply_fill(fill(Side.SELL, 1, "101.00"))
    # realized 101.00 - 100.08 = 0.92 ; the remaining 2 carry 300.25 - 100.08 = 200.17
    assert book.realized_pnl == D("0.92")
    assert book.positions()[0].average_price == D("100.085")


def test_a_fill_already_applied_is_ignored() -> None:
    book = Portfolio(D("1000"))
    f = fill(Side.BUY, 1, "10")
    assert book.apply_fill(f) is True
    assert book.apply_fill(f) is False
    assert (book.positions()[0].quantity, book.cash, book.fills) == (1, D("990"), 1)


def test_apply_trade_is_the_one_position_arithmetic() -> None:
    # long 10 costing 1000, sell 15 @ 110: realized 10 x 110 - 1000 = 100 ; -5 costing -550
    assert apply_trade(10, D("1000"), -15, D("110")) == (-5, D("-550"), D("100"))


def test_a_snapshot_restores_exactly_even_with_a_repeating_average_price() -> None:
    book = Portfolio(D("50000"))
    book.apply_fill(fill(Side.BUY, 1, "100.05", charges="0.35"))
    book.apply_fill(fill(Side.BUY, 2, "100.10", charges="0.40"))  # avg 100.0833...
    book.apply_fill(fill(Side.SELL, 7, "250", token=B, charges="1.10"))
    book.apply_fill(fill(Side.BUY, 7, "240", token=B))  # closes B: realized 70
    book.mark(A, D("99.95"))
    snap = book.snapshot(as_of_ns=123, last_seq=42)
    encoded = msgspec.json.encode(snap)
    restored = Portfolio.from_snapshot(msgspec.json.decode(encoded, type=PnlSnapshot))
    assert restored.snapshot(as_of_ns=123, last_seq=42) == snap
    assert restored.starting_cash == D("50000")
    # and the restored book goes on exactly like the original
    more = fill(Side.SELL, 2, "101.35", charges="0.20")
    book.apply_fill(more)
    restored.apply_fill(more)
    assert restored.snapshot(as_of_ns=124, last_seq=43) == book.snapshot(124, 43)


def test_the_snapshot_lists_flat_positions_that_carry_realized_pnl() -> None:
    book = Portfolio(D("0"))
    book.apply_fill(fill(Side.BUY, 1, "10"))
    book.apply_fill(fill(Side.SELL, 1, "12"))
    [pos] = book.snapshot(as_of_ns=1, last_seq=1).positions
    assert (pos.quantity, pos.realized_pnl, pos.unrealized_pnl) == (0, D("2"), D("0"))


prices = st.decimals(min_value=D("0.05"), max_value=D("5000"), places=2)
fills_st = st.lists(
    st.tuples(
        st.sampled_from([A, B]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=500),
        prices,
        st.decimals(min_value=D("0"), max_value=D("50"), places=2),
        st.one_of(st.none(), prices),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(start=st.decimals(min_value=D("0"), max_value=D("10000000"), places=2), steps=fills_st)
def test_equity_always_equals_start_plus_realized_plus_unrealized_minus_charges(
    start: Decimal, steps: list[tuple[int, Side, int, Decimal, Decimal, Decimal | None]]
) -> None:
    book = Portfolio(start)
    for token, side, qty, price, charges, mark in steps:
        book.apply_fill(fill(side, qty, str(price), token=token, charges=str(charges)))
        if mark is not None:
            book.mark(token, mark)
        # exact, not approximate: every rupee is accounted for
        assert book.equity == start + book.realized_pnl + book.unrealized_pnl - book.charges
        assert book.realized_pnl == sum((p.realized_pnl for p in book.positions()), D(0))
    snap = book.snapshot(as_of_ns=1, last_seq=len(steps))
    assert Portfolio.from_snapshot(snap).snapshot(as_of_ns=1, last_seq=len(steps)) == snap
