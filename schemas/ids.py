"""The one source of event ids: monotonic ULIDs.

ULIDs sort lexicographically by creation time; the monotonic provider increments the
random part within one millisecond. We also guard against the wall clock stepping back
(ulid-py would then pair an older timestamp with a newer randomness), so ids from one
process strictly increase no matter what the clock does.
"""

from __future__ import annotations

import threading

import ulid
from ulid import monotonic

__all__ = ["generate_event_id", "event_id_time_ms"]

_lock = threading.Lock()
_last: int = 0


def generate_event_id() -> str:
    """Return a new 26-character ULID, strictly greater than every id this process made before."""
    global _last
    with _lock:
        value = monotonic.new().int
        if value <= _last:
            value = _last + 1
        _last = value
        return str(ulid.from_int(value))


def event_id_time_ms(event_id: str) -> int:
    """Milliseconds since the epoch encoded in an event id."""
    return int(ulid.from_str(event_id).timestamp().int)
