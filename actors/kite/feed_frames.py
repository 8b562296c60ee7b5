"""Raw ticker frames into ticks, packet by packet, so one bad packet spoils only itself.

`decode_frame` stops at the first bad packet; the feed wants every good tick of a frame and
one `BadPacket` per bad one (counted and dead-lettered, the feed keeps running).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from actors.kite.errors import PacketError
from actors.kite.packets import decode_packet
from schemas.events import MarketTick

__all__ = ["BadPacket", "split_frame"]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class BadPacket:
    """A packet (or the rest of a truncated frame) that does not decode, and why."""

    raw: bytes
    error: str

    @property
    def token(self) -> int:
        """The instrument token the packet claims, 0 if it is too short to say."""
        return _U32.unpack_from(self.raw, 0)[0] if len(self.raw) >= 4 else 0


def split_frame(frame: bytes) -> list[MarketTick | BadPacket]:
    """Every packet of a binary frame decoded; a heartbeat (under two bytes) holds none."""
    if len(frame) < 2:
        return []
    (count,) = _U16.unpack_from(frame, 0)
    out: list[MarketTick | BadPacket] = []
    at = 2
    for _ in range(count):
        if at + 2 > len(frame):
            out.append(BadPacket(frame[at:], f"frame truncated: {count} packets announced"))
            break
        (length,) = _U16.unpack_from(frame, at)
        packet = frame[at + 2 : at + 2 + length]
        at += 2 + length
        if len(packet) != length:
            out.append(BadPacket(packet, f"frame truncated inside a packet of {length} bytes"))
            break
        try:
            out.append(decode_packet(packet))
        except PacketError as exc:
            out.append(BadPacket(packet, str(exc)))
    return out
