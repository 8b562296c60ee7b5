"""Per-strategy books: positions, PnL, charges, turnover and fills per (strategy, instrument),
summed per instrument and per broker; marks from ticks only."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.portfolio.book import Portfolio
from schemas.enums import Side
from schemas.events import Charges, OrderFilled, PnlSnapshot, PositionView, StrategyPnl

D = Decimal
A, B = 408065, 738561
_seq = iter(range(1, 1_000_000))


def fill(
    strategy: str,
    side: Side,
    quantity: int,
    price: str,
    *,
    token: int = A,
    charges: str = "0",
    tick_ts: int = 0,
) -> OrderFilled:
    n = next(_seq)
    return OrderFilled(
        client_order_id=f"c{n}", broker_order_id=f"P-c{n}", fill_id=f"c{n}-F1",
        strategy_id=strategy, instrument_token=token, side=side, quantity=quantity,
        price=D(price), cumulative_quantity=quantity, order_quantity=quantity,
        average_price=D(price), final=True, charges=Charges(brokerage=D(charges)),
        symbol="HDFCBANK" if token == A else "INFY", tick_ts=tick_ts,
    )  # fmt: skip


def facts(v: PositionView) -> tuple[object, ...]:
    return (v.strategy_id, v.instrument_token, v.quantity, v.average_price, v.last_price,
            v.realized_pnl, v.unrealized_pnl, v.charges, v.turnover, v.fills, v.marked)  # fmt: skip


def two_strategies_one_instrument() -> Portfolio:
    """mom buys 10 @ 100, rev sells 4 @ 101, a tick at 103, mom sells 5 @ 104, rev covers
    4 @ 102. Each strategy realizes against its own average price."""
    book = Portfolio(D("10000"))
    book.apply_fill(fill("mom", Side.BUY, 10, "100", charges="1.00", tick_ts=10))
    book.apply_fill(fill("rev", Side.SELL, 4, "101", charges="0.50", tick_ts=20))
    book.mark(A, D("103"), ts=30)
    book.apply_fill(fill("mom", Side.SELL, 5, "104", charges="0.80", tick_ts=30))
    book.apply_fill(fill("rev", Side.BUY, 4, "102", charges="0.40", tick_ts=30))
    return book


def test_two_strategies_in_opposite_directions_keep_their_own_books() -> None:
    book = two_strategies_one_instrument()
    # mom: +10 cost 1000; sells 5 @ 104 removing 500: realized 520 - 500 = 20; +5 cost 500
    #      marked at 103: unrealized 5 x 103 - 500 = 15; charges 1.80; turnover 1000 + 520
    # rev: -4 cost -404; covers 4 @ 102: realized -408 + 404 = -4; flat, shown at 102
    #      charges 0.90; turnover 404 + 408 = 812
    assert [facts(v) for v in book.strategy_positions()] == [
        ("mom", A, 5, D("100"), D("103"), D("20"), D("15"), D("1.80"), D("1520"), 2, True),
        ("rev", A, 0, D("0"), D("102"), D("-4"), D("0"), D("0.90"), D("812"), 2, True),
    ]
    # the instrument is their sum: +5 cost 500, realized 16, unrealized 15, charges 2.70
    assert [facts(v) for v in book.positions()] == [
        ("", A, 5, D("100"), D("103"), D("16"), D("15"), D("2.70"), D("2332"), 4, True),
    ]
    assert book.strategies() == [
        StrategyPnl(strategy_id="mom", realized_pnl=D("20"), unrealized_pnl=D("15"),
                    charges=D("1.80"), turnover=D("1520"), fills=2, open_positions=1),
        StrategyPnl(strategy_id="rev", realized_pnl=D("-4"), unrealized_pnl=D("0"),
                    charges=D("0.90"), turnover=D("812"), fills=2, open_positions=0),
    ]  # fmt: skip
    # cash 10000 - 1000 - 1.00 + 404 - 0.50 + 520 - 0.80 - 408 - 0.40 = 9513.30
    # equity 9513.30 + 5 x 103 = 10028.30 = 10000 + 16 + 15 - 2.70
    assert (book.realized_pnl, book.unrealized_pnl, book.charges) == (D(16), D(15), D("2.70"))
    assert (book.cash, book.equity, book.turnover, book.fills) == (
        D("9513.30"), D("10028.30"), D("2332"), 4,
    )  # fmt: skip


def test_a_netted_book_would_differ_which_is_why_strategies_are_not_netted() -> None:
    # the same fills through one strategy: the sell of 4 @ 101 closes 4 of the 10 (realized
    # 4), the sell of 5 @ 104 closes 5 more (realized 20), and the buy of 4 @ 102 adds to
    # the last 1 (cost 100 + 408): realized 24, 5 held at 101.60. Attributed, the broker
    # realizes 16 and holds 5 at 100: nothing is netted between strategies
    netted = Portfolio(D("10000"))
    for f in (fill("one", Side.BUY, 10, "100"), fill("one", Side.SELL, 4, "101"),
              fill("one", Side.SELL, 5, "104"), fill("one", Side.BUY, 4, "102")):  # fmt: skip
        netted.apply_fill(f)
    assert netted.realized_pnl == D(24)
    assert netted.positions()[0].average_price == D("101.6")
    assert two_strategies_one_instrument().realized_pnl == D(16)


def test_an_instrument_netted_flat_across_strategies_keeps_their_unrealized() -> None:
    book = Portfolio(D("0"))
    book.apply_fill(fill("mom", Side.BUY, 3, "50"))
    book.apply_fill(fill("rev", Side.SELL, 3, "51"))
    book.mark(A, D("52"), ts=1)
    # mom 3 x 52 - 150 = +6 ; rev -3 x 52 + 153 = -3 ; the instrument: 0 shares, +3
    [view] = book.positions()
    assert (view.quantity, view.average_price, view.last_price, view.unrealized_pnl) == (
        0, D("0"), D("52"), D("3"),
    )  # fmt: skip
    assert book.equity == book.starting_cash + book.unrealized_pnl - book.charges


def test_a_new_position_is_unmarked_until_a_tick_and_valued_at_cost() -> None:
    book = Portfolio(D("1000"))
    book.apply_fill(fill("mom", Side.BUY, 2, "100", tick_ts=50))
    [view] = book.positions()
    assert (view.last_price, view.unrealized_pnl, view.marked) == (D("0"), D("0"), False)
    assert book.equity == D("1000"), "valued at cost: 800 cash + 200"
    book.mark(A, D("104"), ts=50)  # the named tick itself: the fill was priced from it
    assert (book.positions()[0].last_price, book.unrealized_pnl) == (D("104"), D("8"))


def test_a_tick_older_than_the_fills_tick_does_not_mark_it() -> None:
    book = Portfolio(D("1000"))
    book.mark(A, D("99"), ts=40)  # seen before the fill, older than its named tick
    book.apply_fill(fill("mom", Side.BUY, 2, "100", tick_ts=50))
    assert not book.positions()[0].marked
    book.mark(A, D("98"), ts=45)  # late delivery of a tick before the named one
    assert not book.positions()[0].marked
    book.mark(A, D("101"), ts=60)
    book.mark(A, D("97"), ts=55)  # older than the mark: ignored
    assert (book.positions()[0].last_price, book.unrealized_pnl) == (D("101"), D("2"))


def test_marks_come_from_ticks_and_never_from_fills() -> None:
    book = Portfolio(D("0"))
    book.mark(A, D("103"), ts=5)
    book.apply_fill(fill("mom", Side.BUY, 1, "100", tick_ts=5))
    book.apply_fill(fill("rev", Side.BUY, 1, "110", tick_ts=5))
    # both at the tick's 103, not at 100 or 110: mom +3, rev -7
    assert [v.unrealized_pnl for v in book.strategy_positions()] == [D(3), D(-7)]


def test_per_strategy_books_restore_exactly_with_unmarked_positions() -> None:
    book = two_strategies_one_instrument()
    book.apply_fill(fill("rev", Side.BUY, 3, "250.10", token=B, charges="0.35", tick_ts=90))
    snap = book.snapshot(as_of_ns=7, last_seq=9)
    assert [v.marked for v in snap.positions] == [True, False]
    restored = Portfolio.from_snapshot(msgspec.json.decode(msgspec.json.encode(snap),
                                                           type=PnlSnapshot))  # fmt: skip
    assert restored.snapshot(as_of_ns=7, last_seq=9) == snap
    assert restored.starting_cash == D("10000")
    more = fill("mom", Side.SELL, 5, "105", charges="0.20", tick_ts=95)
    for b in (book, restored):
        b.apply_fill(more)
        b.mark(B, D("251"), ts=100)
        b.mark(A, D("106"), ts=100)
    assert restored.snapshot(as_of_ns=8, last_seq=10) == book.snapshot(8, 10)


def test_a_snapshot_from_before_strategies_restores_as_one_book_per_instrument() -> None:
    old = PnlSnapshot(
        positions=[PositionView(instrument_token=A, quantity=2, average_price=D("100"),
                                last_price=D("103"), realized_pnl=D("5"),
                                unrealized_pnl=D("6"))],
        cash=D("805"), realized_pnl=D("5"), unrealized_pnl=D("6"), charges=D("0"),
        equity=D("1011"), as_of_ns=1, last_seq=3, fills=2,
    )  # fmt: skip
    book = Portfolio.from_snapshot(old)
    assert (book.starting_cash, book.unrealized_pnl, book.equity) == (D(1000), D(6), D(1011))
    assert [s.strategy_id for s in book.strategies()] == [""]


prices = st.decimals(min_value=D("0.05"), max_value=D("5000"), places=2)
steps_st = st.lists(
    st.tuples(
        st.sampled_from(["mom", "rev", "pairs"]),
        st.sampled_from([A, B]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=300),
        prices,
        st.decimals(min_value=D("0"), max_value=D("30"), places=2),
        st.one_of(st.none(), st.tuples(prices, st.integers(min_value=0, max_value=60))),
        st.integers(min_value=0, max_value=60),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps=steps_st)
def test_the_instrument_and_broker_figures_are_the_sums_of_the_strategy_books(
    steps: list[tuple[str, int, Side, int, Decimal, Decimal, tuple[Decimal, int] | None, int]],
) -> None:
    start = D("1000000")
    book = Portfolio(start)
    for sid, token, side, qty, price, charges, mark, tick_ts in steps:
        book.apply_fill(fill(sid, side, qty, str(price), token=token, charges=str(charges),
                             tick_ts=tick_ts))  # fmt: skip
        if mark is not None:
            book.mark(token, mark[0], ts=mark[1])
        assert book.equity == start + book.realized_pnl + book.unrealized_pnl - book.charges
    books, summaries = book.strategy_positions(), book.strategies()
    for field in ("realized_pnl", "unrealized_pnl", "charges", "turnover", "fills"):
        total = getattr(book, field)
        for views in (book.positions(), books, summaries):
            assert sum((getattr(v, field) for v in views), D(0)) == total, field
    for view in book.positions():
        mine = [b for b in books if b.instrument_token == view.instrument_token]
        assert view.quantity == sum(b.quantity for b in mine)
        assert all(b.marked == view.marked for b in mine if b.quantity)
    snap = book.snapshot(as_of_ns=1, last_seq=len(steps))
    assert Portfolio.from_snapshot(snap).snapshot(as_of_ns=1, last_seq=len(steps)) == snap
