"""Kite order tags: our 26-character client order id (a ULID) in Kite's 20 characters.

Kite keeps at most 20 alphanumeric characters of tag; a ULID is 128 bits in 26 characters
of Crockford base32. Twenty base-62 digits hold 119 bits (62**20 > 2**119), so the tag is
the ULID's low 119 bits in base 62: the 80 random bits and the low 39 bits of its
millisecond timestamp. The 9 high timestamp bits it drops change once every 2**39 ms (17.4
years), so `client_order_id_of` restores them from the current time: within 8.7 years
either side of now the mapping is one to one, and two ids only share a tag if they were
made 17 years apart. `TagBook` still checks every tag against the ones it has issued
before an order is placed (a collision is refused, never placed).
"""

from __future__ import annotations

import time

from schemas.ids import encode_ulid

__all__ = ["TAG_CHARS", "TagError", "TagBook", "tag_of", "client_order_id_of"]

TAG_CHARS = 20
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}
_KEPT_BITS = 119
_KEPT = (1 << _KEPT_BITS) - 1
_RANDOM_BITS = 80
_ERA_BITS = _KEPT_BITS - _RANDOM_BITS  # the timestamp bits the tag keeps (39)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCK_DIGIT = {c: i for i, c in enumerate(_CROCKFORD)}


class TagError(ValueError):
    """A client order id that is not a ULID, or a tag that is not one of ours."""

    retriable = False


def _ulid_int(client_order_id: str) -> int:
    if len(client_order_id) != 26:
        raise TagError(
            f"client order id {client_order_id!r} is not a 26-character ULID: zerodha orders "
            "need ids from schemas.ids (risk gives every order one)"
        )
    value = 0
    for ch in client_order_id.upper():
        digit = _CROCK_DIGIT.get(ch)
        if digit is None:
            raise TagError(f"client order id {client_order_id!r} is not Crockford base32")
        value = value * 32 + digit
    if value >> 128:
        raise TagError(f"client order id {client_order_id!r} is out of the ULID range")
    return value


def tag_of(client_order_id: str) -> str:
    """The 20-character Kite tag of a client order id (deterministic: a restart derives
    the same tag, which is what lets it find the order at Kite)."""
    low = _ulid_int(client_order_id) & _KEPT
    digits = []
    for _ in range(TAG_CHARS):
        low, digit = divmod(low, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def client_order_id_of(tag: str, now_ms: int | None = None) -> str:
    """The client order id a tag was made from, its dropped timestamp bits taken from the
    era nearest `now_ms` (default: now)."""
    if len(tag) != TAG_CHARS or any(c not in _DIGIT for c in tag):
        raise TagError(f"{tag!r} is not an alpha-panda tag ({TAG_CHARS} base-62 characters)")
    low = 0
    for ch in tag:
        low = low * 62 + _DIGIT[ch]
    if low > _KEPT:
        raise TagError(f"{tag!r} is not an alpha-panda tag (beyond {_KEPT_BITS} bits)")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    ts_low = low >> _RANDOM_BITS
    era = 1 << _ERA_BITS
    base = (now >> _ERA_BITS) << _ERA_BITS
    ts = min((base - era + ts_low, base + ts_low, base + era + ts_low), key=lambda t: abs(t - now))
    if ts < 0 or ts >> 48:
        raise TagError(f"{tag!r} maps to no ULID timestamp near now")
    return encode_ulid((ts << _RANDOM_BITS) | (low & ((1 << _RANDOM_BITS) - 1)))


class TagBook:
    """The tags this venue issued, both ways: a tag is handed out only once per id."""

    def __init__(self) -> None:
        self._by_tag: dict[str, str] = {}

    def issue(self, client_order_id: str) -> str:
        """The tag of `client_order_id`; `TagError` if another id already holds it."""
        tag = tag_of(client_order_id)
        holder = self._by_tag.setdefault(tag, client_order_id)
        if holder != client_order_id:
            raise TagError(
                f"tag {tag} of order {client_order_id} is already held by order {holder}: "
                "refused before placement"
            )
        return tag

    def client_order_id(self, tag: str) -> str | None:
        return self._by_tag.get(tag)

    def __len__(self) -> int:
        return len(self._by_tag)
