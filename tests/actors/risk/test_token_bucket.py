"""The risk token bucket runs on event time, so a replay decides exactly as the live run."""

from __future__ import annotations

from decimal import Decimal

from actors.risk.token_bucket import TokenBucket

S = 1_000_000_000  # ns per second


def test_a_new_bucket_allows_a_burst_then_refuses() -> None:
    bucket = TokenBucket(rate_per_s=Decimal(1), burst=2)
    assert [bucket.try_take(0) for _ in range(3)] == [True, True, False]


def test_tokens_come_back_in_proportion_to_event_time_elapsed() -> None:
    bucket = TokenBucket(rate_per_s=Decimal(2), burst=1)
    assert bucket.try_take(10 * S)
    # 2 tokens/s: after 0.4 s only 0.8 of a token is back
    assert not bucket.try_take(10 * S + 400_000_000)
    assert bucket.available(10 * S + 400_000_000) == Decimal("0.8")
    assert bucket.try_take(10 * S + 500_000_000)


def test_the_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=Decimal(100), burst=3)
    bucket.try_take(0)
    assert bucket.available(3600 * S) == 3


def test_an_event_from_the_past_refills_nothing_and_does_not_rewind_the_clock() -> None:
    bucket = TokenBucket(rate_per_s=Decimal(1), burst=1)
    assert bucket.try_take(5 * S)
    assert not bucket.try_take(4 * S)
    assert not bucket.try_take(5 * S + 500_000_000)
    assert bucket.try_take(6 * S)


def test_the_bucket_state_round_trips() -> None:
    bucket = TokenBucket(rate_per_s=Decimal("0.5"), burst=2)
    bucket.try_take(0)
    copy = TokenBucket(rate_per_s=Decimal("0.5"), burst=2)
    copy.restore(bucket.state())
    assert copy.state() == bucket.state()
    assert [copy.try_take(S) for _ in range(3)] == [bucket.try_take(S) for _ in range(3)]
