"""The crossover keeps running window sums: they must equal the sums recomputed each tick."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.instruments import InstrumentBook
from actors.strategies.momentum import MomentumParams, MomentumStrategy
from schemas.events import MarketTick

INFY = InstrumentBook.default().by_symbol("INFY")


def naive_signs(prices: list[Decimal], fast: int, slow: int) -> list[int | None]:
    out: list[int | None] = []
    for i in range(len(prices)):
        window = prices[max(0, i + 1 - slow) : i + 1]
        if len(window) < slow:
            out.append(None)
            continue
        diff = sum(window[-fast:], Decimal(0)) * slow - sum(window, Decimal(0)) * fast
        out.append((diff > 0) - (diff < 0))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=120),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=1, max_value=10),
)
def test_running_sums_match_recomputed_sums(paise: list[int], fast: int, extra: int) -> None:
    assert INFY is not None
    slow = fast + extra
    strategy = MomentumStrategy("m", [INFY], MomentumParams(fast_window=fast, slow_window=slow))
    prices = [Decimal(p) * Decimal("0.05") for p in paise]
    seen = []
    for n, price in enumerate(prices):
        strategy.on_tick(MarketTick(instrument_token=INFY.instrument_token, last_price=price), n)
        book = strategy._books[INFY.instrument_token]
        window = list(book.prices)
        assert book.slow_sum == sum(window, Decimal(0))
        assert book.fast_sum == sum(window[-fast:], Decimal(0))
        seen.append(book.sign)
    # the remembered sign follows the naive computation (an equal tick keeps the last one)
    expected, last = [], None
    for sign in naive_signs(prices, fast, slow):
        last = sign or last if sign is not None else last
        expected.append(last)
    assert seen == expected
    # a restored strategy continues with the same sums
    again = MomentumStrategy("m", [INFY], MomentumParams(fast_window=fast, slow_window=slow))
    again.restore(strategy.snapshot())
    restored = again._books[INFY.instrument_token]
    assert (restored.fast_sum, restored.slow_sum) == (book.fast_sum, book.slow_sum)
