"""Strategy shards by instrument: NATS's own `partition(n, ...)` subject transform.

`MARKET_SHARDS` mirrors `MARKET` with one subject transform that writes, for every shard
count 2..`MAX_SHARDS`, the instrument's partition under that count into the stored subject:

    market.ticks.<token>  ->  shard.ticks.<p2>.<p3>...<p8>.<token>

A mirror keeps the origin's sequence numbers, so a tick read from the mirror has the same
sequence as in `MARKET` (a signal's `tick_seq`, a runner's snapshot sequence): a runner can
move between the mirror and `MARKET`, and between shard counts, with the same snapshot.
Shard i of n reads one filter subject (`*` everywhere but the n-way partition, which is i),
so each instrument goes to exactly one shard of any count, chosen by the server.
"""

from __future__ import annotations

from typing import Final

from nats.js import api as js_api

from schemas.names import MARKET_STREAM, TICK_PREFIX

__all__ = ["MAX_SHARDS", "SHARDS_STREAM", "ShardError", "shard_filter", "shards_stream_config"]

SHARDS_STREAM: Final = "MARKET_SHARDS"
MAX_SHARDS: Final = 8
_PREFIX: Final = "shard.ticks"
_COUNTS: Final = tuple(range(2, MAX_SHARDS + 1))


class ShardError(ValueError):
    """A shard setting out of range; the message names the allowed values."""


def _destination() -> str:
    parts = "".join(f".{{{{partition({n},1)}}}}" for n in _COUNTS)
    return f"{_PREFIX}{parts}.{{{{wildcard(1)}}}}"


def shards_stream_config(
    *, replicas: int = 1, max_age_s: float = 0, max_bytes: int = -1
) -> js_api.StreamConfig:
    """The `MARKET_SHARDS` mirror (same retention as `MARKET`, which it follows)."""
    return js_api.StreamConfig(
        name=SHARDS_STREAM,
        mirror=js_api.StreamSource(
            name=MARKET_STREAM.name,
            subject_transforms=[
                js_api.SubjectTransform(src=f"{TICK_PREFIX}*", dest=_destination())
            ],
        ),
        storage=js_api.StorageType.FILE,
        num_replicas=replicas,
        max_age=max_age_s,
        max_bytes=max_bytes,
        retention=js_api.RetentionPolicy.LIMITS,
    )


def shard_filter(shard: int, shards: int) -> str:
    """The subject filter of shard `shard` (0-based) of `shards` on `MARKET_SHARDS`."""
    if not 1 <= shards <= MAX_SHARDS:
        raise ShardError(f"strategy shards must be 1..{MAX_SHARDS}, not {shards}")
    if not 0 <= shard < shards:
        raise ShardError(f"shard must be 0..{shards - 1} for {shards} shard(s), not {shard}")
    if shards == 1:
        return f"{_PREFIX}.>"
    tokens = ["*"] * len(_COUNTS)
    tokens[_COUNTS.index(shards)] = str(shard)
    return ".".join((_PREFIX, *tokens, "*"))
