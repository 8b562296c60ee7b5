"""Errors of the Kite pieces; each names the problem and carries `retriable`."""

from __future__ import annotations

__all__ = ["PacketError"]


class PacketError(ValueError):
    """A ticker frame or packet that does not follow Kite's binary layout; no retry fixes it."""

    retriable = False
