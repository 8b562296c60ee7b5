"""The one source of event ids: monotonic ULIDs.

ULIDs sort lexicographically by creation time; within one millisecond the random part is
incremented (ULID's monotonic mode). The same increment covers the wall clock stepping
back, so ids from one process strictly increase no matter what the clock does.
"""

from __future__ import annotations

import base64
import os
import random
import threading
import time

import ulid

__all__ = ["generate_event_id", "event_id_time_ms", "encode_ulid"]

_lock = threading.Lock()
_last: int = 0
_RANDOM_BITS = 80
_TO_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)  # 10 bits -> 2 characters

# The random part of a new millisecond's first id: a PRNG seeded from the OS, not a
# getrandom() system call per millisecond (ids need uniqueness, not secrecy). A forked
# child reseeds, or parent and child would draw the same bits in the same millisecond.
_rng = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))
_prefix_ms = -1
_prefix = ""  # the 10 characters of `_prefix_ms`, reused by every id of that millisecond


def generate_event_id() -> str:
    """Return a new 26-character ULID, strictly greater than every id this process made before."""
    global _last, _prefix, _prefix_ms
    with _lock:
        ms = int(time.time() * 1000)
        if ms > _last >> _RANDOM_BITS:
            value = (ms << _RANDOM_BITS) | _rng.getrandbits(_RANDOM_BITS)
        else:  # the same millisecond, or the clock stepped back: ULID's monotonic increment
            value = _last + 1
        _last = value
        high = value >> _RANDOM_BITS  # the time part (an increment may carry into it)
        p = _PAIRS
        if high != _prefix_ms:  # 48 bits of time (and 2 zero bits): 5 pairs of characters
            _prefix_ms = high
            _prefix = (
                p[high >> 40] + p[(high >> 30) & 1023] + p[(high >> 20) & 1023]
                + p[(high >> 10) & 1023] + p[high & 1023]
            )  # fmt: skip
        prefix = _prefix
    # the 80 random bits: 8 pairs of characters
    return (
        prefix + p[(value >> 70) & 1023] + p[(value >> 60) & 1023] + p[(value >> 50) & 1023]
        + p[(value >> 40) & 1023] + p[(value >> 30) & 1023] + p[(value >> 20) & 1023]
        + p[(value >> 10) & 1023] + p[value & 1023]
    )  # fmt: skip


def encode_ulid(value: int) -> str:
    """A 128-bit value as a 26-character ULID (Crockford base32, most significant first)."""
    # Every id of every envelope comes through here (ulid-py took twice as long): Crockford
    # base32 is RFC 4648 base32 with another alphabet; 26 characters hold 130 bits, so the
    # 128-bit value shifted left by 6 fills 17 bytes whose first 26 characters are the id.
    # Faster still (Python 3.11's b32encode is a Python loop): 13 lookups of 10 bits each,
    # two characters apiece, most significant first; the top pair holds 2 zero bits.
    p = _PAIRS
    return (
        p[value >> 120] + p[(value >> 110) & 1023] + p[(value >> 100) & 1023]
        + p[(value >> 90) & 1023] + p[(value >> 80) & 1023] + p[(value >> 70) & 1023]
        + p[(value >> 60) & 1023] + p[(value >> 50) & 1023] + p[(value >> 40) & 1023]
        + p[(value >> 30) & 1023] + p[(value >> 20) & 1023] + p[(value >> 10) & 1023]
        + p[value & 1023]
    )  # fmt: skip


def _encode_ulid_b32(value: int) -> str:
    """The reference encoding `encode_ulid` must equal (tests compare the two)."""
    return base64.b32encode((value << 6).to_bytes(17, "big"))[:26].translate(_TO_CROCKFORD).decode()


def event_id_time_ms(event_id: str) -> int:
    """Milliseconds since the epoch encoded in an event id."""
    return int(ulid.from_str(event_id).timestamp().int)
