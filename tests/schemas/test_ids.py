"""generate_event_id: the one id source; monotonic ULIDs."""

from __future__ import annotations

import threading
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.ids import event_id_time_ms, generate_event_id


@settings(max_examples=50)
@given(n=st.integers(min_value=2, max_value=2000))
def test_ids_generated_in_a_short_window_sort_in_generation_order_and_never_collide(n: int) -> None:
    ids = [generate_event_id() for _ in range(n)]
    assert ids == sorted(ids)
    assert len(set(ids)) == n
    assert all(len(i) == 26 for i in ids)


def test_ids_stay_increasing_when_the_wall_clock_steps_back() -> None:
    first = generate_event_id()
    with mock.patch("time.time", return_value=1_000_000.0):
        later = [generate_event_id() for _ in range(100)]
    assert [first, *later] == sorted([first, *later])
    assert len(set(later)) == 100


def test_ids_from_many_threads_are_unique() -> None:
    out: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        ids = [generate_event_id() for _ in range(2000)]
        with lock:
            out.extend(ids)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 8000


def test_an_id_carries_its_creation_time() -> None:
    import time

    before = int(time.time() * 1000)
    eid = generate_event_id()
    assert before - 5 <= event_id_time_ms(eid) <= int(time.time() * 1000) + 5


def test_encode_ulid_equals_the_base32_reference_encoding() -> None:
    """The table encoding is the RFC 4648 base32 one in Crockford's alphabet, bit for bit."""
    import random

    from schemas.ids import _encode_ulid_b32, encode_ulid

    rng = random.Random(14)
    values = [0, 1, 1023, 1 << 80, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(2000))]
    for value in values:
        assert encode_ulid(value) == _encode_ulid_b32(value)
