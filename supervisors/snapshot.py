"""What a stateful actor's snapshot is in the state bucket, and its one codec per type.

The value is `{"seq": <stream sequence the state includes>, "state": <the actor's
state_type>}`. Each state type gets one Decoder, built on first use; one Encoder serves
all.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, Generic, TypeVar

import msgspec

from supervisors.errors import SnapshotUnreadable

__all__ = ["Snapshot", "encode_snapshot", "decode_snapshot"]

S = TypeVar("S")

# Snapshots grow with the state (a day's orders): msgspec encodes them several times faster
# than json.dumps, and the loop stalls for that long. Decimals travel as strings, and
# anything else msgspec has no encoding for becomes its `str`, as json.dumps' default did.
_encoder: Final = msgspec.json.Encoder(enc_hook=str)


class Snapshot(msgspec.Struct, Generic[S], frozen=True, kw_only=True):
    seq: int
    state: S


@cache
def _decoder(state_type: Any) -> msgspec.json.Decoder[Snapshot[Any]]:
    return msgspec.json.Decoder(Snapshot[state_type])


def encode_snapshot(seq: int, state: object) -> bytes:
    return _encoder.encode(Snapshot(seq=seq, state=state))


def decode_snapshot(raw: bytes, state_type: Any) -> Snapshot[Any]:
    """`raw` as a snapshot whose state is a `state_type` (a Struct or any msgspec type)."""
    try:
        snapshot: Snapshot[Any] = _decoder(state_type).decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        name = getattr(state_type, "__name__", repr(state_type))
        raise SnapshotUnreadable(f"not a snapshot of {name}: {exc}") from exc
    return snapshot
