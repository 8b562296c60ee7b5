"""Kite tags: 20 characters from a 26-character ULID, one to one, collisions refused."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.kite.tags import TAG_CHARS, TagBook, TagError, client_order_id_of, tag_of
from schemas.ids import encode_ulid, generate_event_id

NOW_MS = 1_795_000_000_000  # 2026-11-18
ALNUM = set(string.ascii_letters + string.digits)


def test_a_tag_fits_kite_and_maps_back_to_its_client_order_id() -> None:
    coid = generate_event_id()
    tag = tag_of(coid)
    assert len(coid) == 26 and len(tag) == TAG_CHARS and set(tag) <= ALNUM
    assert client_order_id_of(tag) == coid


@given(st.integers(min_value=0, max_value=(1 << 80) - 1),
       st.integers(min_value=NOW_MS - 4 * 365 * 86_400_000, max_value=NOW_MS + 86_400_000))  # fmt: skip
def test_every_ulid_within_years_of_now_round_trips(random: int, ms: int) -> None:
    coid = encode_ulid((ms << 80) | random)
    assert client_order_id_of(tag_of(coid), now_ms=NOW_MS) == coid


def test_ids_made_in_the_same_millisecond_get_different_tags() -> None:
    ids = [generate_event_id() for _ in range(5000)]
    assert len({tag_of(i) for i in ids}) == 5000


def test_a_tag_keeps_the_order_of_ids_within_a_day() -> None:
    ids = [generate_event_id() for _ in range(100)]
    assert [tag_of(i) for i in ids] == sorted(tag_of(i) for i in ids)


@pytest.mark.parametrize("bad", ["", "short", "x" * 26, "01M8SCY7V6X0JD99VV7130Z7A"])
def test_a_client_order_id_that_is_not_a_ulid_is_refused_by_name(bad: str) -> None:
    with pytest.raises(TagError, match="ULID|Crockford"):
        tag_of(bad)


@pytest.mark.parametrize("bad", ["", "tooShort", "!" * 20, "z" * 20])
def test_a_tag_that_is_not_ours_does_not_map_to_an_id(bad: str) -> None:
    with pytest.raises(TagError, match="not an alpha-panda tag"):
        client_order_id_of(bad)


def test_the_tag_book_refuses_a_second_id_with_the_same_tag() -> None:
    book = TagBook()
    coid = generate_event_id()
    assert book.issue(coid) == book.issue(coid) == tag_of(coid)  # the same id: the same tag
    era = 1 << 119  # 17 years later, the low 119 bits repeat: the one way to collide
    same_low = _ulid_value(coid) + era
    other = encode_ulid(same_low)
    assert tag_of(other) == tag_of(coid) and other != coid
    with pytest.raises(TagError, match="already held by order"):
        book.issue(other)
    assert book.client_order_id(tag_of(coid)) == coid and len(book) == 1


def _ulid_value(coid: str) -> int:
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = 0
    for ch in coid:
        value = value * 32 + digits.index(ch)
    return value
