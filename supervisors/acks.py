"""What a JetStream message's reply (ack) subject says about it.

`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts_ns>.<pending>` (v1), or with
`<domain>.<account hash>` after `ACK` and a random token at the end (v2, twelve tokens or
more). Ticks come through here, so it is a split and five ints; nats-py's `metadata`
builds dataclasses and a datetime for each message.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["AckMeta", "parse_ack_subject"]

_V1_TOKENS: Final = 9
_V2_TOKENS: Final = 12


class AckMeta(NamedTuple):
    """The delivery a reply subject acknowledges."""

    stream_seq: int
    consumer_seq: int
    delivered: int  # how many times this message was delivered, this time included
    ts_ms: int  # when the stream stored it
    pending: int  # messages left in the consumer after this one

    @property
    def redelivered(self) -> bool:
        return self.delivered > 1


def parse_ack_subject(reply: str | None) -> AckMeta:
    """The `AckMeta` of a reply subject; ValueError when it is not a JetStream ack subject."""
    tokens = (reply or "").split(".")
    count = len(tokens)
    if tokens[0] != "$JS" or count < 2 or tokens[1] != "ACK":
        raise ValueError(f"not a JetStream ack subject: {reply!r}")
    if count == _V1_TOKENS:
        base = 2
    elif count >= _V2_TOKENS:
        base = 4
    else:
        raise ValueError(f"not a JetStream ack subject: {reply!r} ({count} tokens)")
    try:
        return AckMeta(
            stream_seq=int(tokens[base + 3]),
            consumer_seq=int(tokens[base + 4]),
            delivered=int(tokens[base + 2]),
            ts_ms=int(tokens[base + 5]) // 1_000_000,
            pending=int(tokens[base + 6]),
        )
    except ValueError:
        raise ValueError(f"not a JetStream ack subject: {reply!r} (non-numeric fields)") from None
