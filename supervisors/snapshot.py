"""What a stateful actor's snapshot is in the state bucket, and its one codec per type.

The value is `{"seq": <stream sequence the state includes>, "state": <the actor's state
Struct>}`. Each state type gets one Decoder, built on first use; one Encoder serves all.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, Generic, TypeVar

import msgspec

__all__ = ["Snapshot", "SnapshotUnreadable", "encode_snapshot", "decode_snapshot"]

S = TypeVar("S", bound=msgspec.Struct)

# Snapshots grow with the state (a day's orders): msgspec encodes them several times faster
# than json.dumps, and the loop stalls for that long. Decimals travel as strings.
_encoder: Final = msgspec.json.Encoder(decimal_format="string")


class Snapshot(msgspec.Struct, Generic[S], frozen=True, kw_only=True):
    seq: int
    state: S


class SnapshotUnreadable(ValueError):
    """A stored snapshot that does not decode as the actor's state type."""


@cache
def _decoder(state_type: type[Any]) -> msgspec.json.Decoder[Snapshot[Any]]:
    return msgspec.json.Decoder(Snapshot[state_type])  # type: ignore[valid-type]


def encode_snapshot(seq: int, state: msgspec.Struct) -> bytes:
    return _encoder.encode(Snapshot(seq=seq, state=state))


def decode_snapshot(raw: bytes, state_type: type[S]) -> Snapshot[S]:
    try:
        snapshot: Snapshot[S] = _decoder(state_type).decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SnapshotUnreadable(f"not a snapshot of {state_type.__name__}: {exc}") from exc
    return snapshot
