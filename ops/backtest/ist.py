"""Event times (ns since the epoch, UTC) read as Indian Standard Time.

Asia/Kolkata is UTC+05:30 all year (India keeps no daylight saving time), so a fixed offset
is exact and needs no time-zone database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["IST", "DAY_NS", "ist_date", "ist_datetime", "ist_iso", "ist_text"]

IST = timezone(timedelta(hours=5, minutes=30), "IST")
DAY_NS = 86_400 * 10**9
_OFFSET_NS = (5 * 3600 + 30 * 60) * 10**9
_EPOCH = date(1970, 1, 1)


def ist_date(ts_ns: int) -> date:
    """The IST calendar date of an event time: the trading day it belongs to."""
    return _EPOCH + timedelta(days=(ts_ns + _OFFSET_NS) // DAY_NS)


def ist_datetime(ts_ns: int) -> datetime:
    """An aware datetime in IST, to the microsecond."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1000)).astimezone(
        IST
    )


def ist_iso(ts_ns: int) -> str:
    """ISO 8601 with the +05:30 offset, to the second: 2026-01-05T15:30:00+05:30."""
    return ist_datetime(ts_ns).isoformat(timespec="seconds")


def ist_text(ts_ns: int) -> str:
    """For people: 2026-01-05 15:30:00."""
    return ist_datetime(ts_ns).strftime("%Y-%m-%d %H:%M:%S")
