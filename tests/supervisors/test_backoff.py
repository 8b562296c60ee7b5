"""Jittered exponential backoff: min(max, min·2ⁿ)·(1 + U·jitter)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisors.backoff import Backoff, backoff_delay


@given(n=st.integers(0, 80), seed=st.integers(0, 2**32))
def test_every_delay_lies_within_its_bounds(n: int, seed: int) -> None:
    b = Backoff(min_s=0.1, max_s=10.0, jitter=0.2)
    low, high = b.bounds(n)
    assert low <= b.delay(n, random.Random(seed)) <= high
    assert low == min(10.0, 0.1 * 2**n)


def test_delays_double_until_the_cap() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 0.1, 1.0, 0.0, rng) for n in range(6)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_an_invalid_backoff_names_the_rule() -> None:
    with pytest.raises(ValueError, match="min_s <= max_s"):
        Backoff(min_s=2.0, max_s=1.0)
