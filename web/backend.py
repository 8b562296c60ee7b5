"""Where the pages and the API get their figures: the running system over NATS.

Every figure comes from the bus, so the web works the same inside `alpha-panda up` and as a
process of its own, with or without Redis: the tree and pipeline figures from `alpha.status`
(scatter-gather, one reply per process), positions and PnL from the portfolio actors'
request subjects, the blotter and dead letters read back from their streams. Control goes
through the gate on `alpha.control` with the caller's token, so the gate checks it and
records who and when; the web never holds a control right of its own.

Answers are cached for a fraction of a second: many open pages cost one request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import msgspec

from actors.control.gate import AUTH_HEADER, ControlRequest
from ops import dlq
from ops.errors import ControlRefused
from schemas.names import (
    CONTROL_REQUEST_SUBJECT,
    ORDERS_ACCEPTED,
    ORDERS_CANCELLED,
    ORDERS_FAILED,
    ORDERS_FILLED,
    ORDERS_SUBMITTED,
    STATUS_SUBJECT,
    Broker,
    ControlVerb,
    broker_subject,
    portfolio_request_subject,
    stream_for_broker,
)
from supervisors.bus import Bus
from web.errors import Unauthorized, Unavailable

__all__ = ["Backend", "NatsBackend", "ORDER_EVENTS"]

T = TypeVar("T")

ORDER_EVENTS = (ORDERS_SUBMITTED, ORDERS_ACCEPTED, ORDERS_FILLED, ORDERS_FAILED, ORDERS_CANCELLED)
#: how far back (stream sequences) the blotter looks
_SCAN = 4000


class Backend(Protocol):
    """The figures the web shows; `NatsBackend` reads them from the bus."""

    async def status(self) -> list[dict[str, Any]]: ...

    async def portfolio(self, broker: Broker) -> dict[str, Any] | None: ...

    async def orders(self, broker: Broker, limit: int) -> list[dict[str, Any]]: ...

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]: ...

    async def control(
        self, token: str, verb: ControlVerb, broker: Broker | None, reason: str, who: str,
        *, actor: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        ...

    async def redrive(self, token: str, seq: int, who: str, reason: str) -> dict[str, Any]: ...

    async def stream_info(self, stream: str) -> dict[str, Any] | None: ...

    @property
    def connected(self) -> bool: ...


class _Cached:
    """One value per key, fetched at most once per `ttl_s` however many callers ask."""

    def __init__(self, ttl_s: float, slow_ttl_s: float) -> None:
        self.ttl_s = ttl_s
        #: stream reads (the blotter, dead letters) cost a consumer each: refreshed less often
        self.slow_ttl_s = slow_ttl_s
        self._values: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[T]], slow: bool = False) -> T:
        lock = self._locks.setdefault(key, asyncio.Lock())
        ttl_s = self.slow_ttl_s if slow else self.ttl_s
        async with lock:
            hit = self._values.get(key)
            if hit is not None and time.monotonic() - hit[0] < ttl_s:
                value: T = hit[1]
                return value
            value = await fetch()
            self._values[key] = (time.monotonic(), value)
            return value


class NatsBackend(Backend):
    """The running system, through `bus` (the web role's connection)."""

    def __init__(
        self, bus: Bus, *, ttl_s: float = 0.5, slow_ttl_s: float = 2.0, status_window_s: float = 2.0
    ) -> None:
        self.bus = bus
        self._cache = _Cached(ttl_s, slow_ttl_s)
        # the wait for the first reply; the rest of the window is gather_replies' own 0.3 s,
        # so a loaded machine's late reply is still shown, at no cost when replies are prompt
        self._window_s = status_window_s

    @property
    def connected(self) -> bool:
        return self.bus.connected

    def _require(self) -> None:
        if not self.bus.connected:
            raise Unavailable("not connected to NATS; the web reconnects on its own")

    async def status(self) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            self._require()
            replies = await self.bus.gather_replies(STATUS_SUBJECT, b"", self._window_s)
            out = []
            for r in replies:
                try:
                    out.append(json.loads(r.data))
                except ValueError:
                    continue  # a foreign responder; not ours to show
            out.sort(key=lambda p: p.get("process", {}).get("pid", 0))
            return out

        return await self._cache.get("status", fetch)

    async def portfolio(self, broker: Broker) -> dict[str, Any] | None:
        async def fetch() -> dict[str, Any] | None:
            self._require()
            try:
                reply = await self.bus.request(portfolio_request_subject(broker), b"", 2.0)
            except Exception:  # no responder (not running here, standby) or a timeout
                return None
            if reply.headers and reply.headers.get("Status") == "503":
                return None
            data: dict[str, Any] = json.loads(reply.data)
            return data

        return await self._cache.get(f"portfolio:{broker}", fetch)

    async def _tail(self, stream: str, subjects: list[str], limit: int) -> list[Any]:
        """The last `limit` messages on `subjects` among the stream's last `_SCAN`."""
        last = await self.bus.stream_last_seq(stream)
        msgs: list[Any] = []
        async for msg in self.bus.replay(stream, subjects, max(1, last - _SCAN + 1), last):
            msgs.append(msg)
            if len(msgs) > limit:
                msgs.pop(0)
        msgs.reverse()  # newest first
        return msgs

    async def orders(self, broker: Broker, limit: int) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            self._require()
            subjects = [broker_subject(broker, e) for e in ORDER_EVENTS]
            msgs = await self._tail(stream_for_broker(broker).name, subjects, limit)
            rows = []
            for m in msgs:
                try:
                    env = json.loads(m.data)
                except ValueError:
                    continue
                data = env.get("data") or {}
                rows.append(
                    {
                        "subject": m.subject,
                        "event": m.subject.rsplit(".", 1)[-1],
                        "id": env.get("id"),
                        "ts": env.get("ts"),
                        **data,
                    }
                )
            return rows

        return await self._cache.get(f"orders:{broker}:{limit}", fetch, slow=True)

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            self._require()
            entries = await dlq.list_dead_letters(self.bus, limit=limit)
            return [
                {
                    **e.as_dict(with_payload=False),
                    "original_subject": e.subject,
                    "ts": int(e.stored_at.timestamp()) * 10**9 + e.stored_at.microsecond * 1000,
                    "payload": e.payload[:2000],
                }
                for e in reversed(entries)  # newest first
            ]

        return await self._cache.get(f"dlq:{limit}", fetch, slow=True)

    async def _gate(self, subject: str, body: bytes, token: str) -> dict[str, Any]:
        self._require()
        try:
            reply = await self.bus.nc.request(
                subject, body, timeout=5, headers={AUTH_HEADER: f"Bearer {token}"}
            )
        except Exception:
            raise Unavailable(
                f"no control gate answered {subject}: is the control role running?"
            ) from None
        result: dict[str, Any] = json.loads(reply.data)
        return result

    async def control(
        self, token: str, verb: ControlVerb, broker: Broker | None, reason: str, who: str,
        *, actor: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        body = msgspec.json.encode(
            ControlRequest(verb=verb, broker=broker, reason=reason, requested_by=who, actor=actor)
        )
        result = await self._gate(CONTROL_REQUEST_SUBJECT, body, token)
        if not result.get("ok"):
            raise Unauthorized(str(result.get("error") or "refused by the control gate"))
        return result

    async def redrive(self, token: str, seq: int, who: str, reason: str) -> dict[str, Any]:
        """One dead letter back to its original subject (`ops.dlq`: the gate's consent on
        `audit.redrive` first, a fixed msg id, then deleted from DLQ: sent once)."""
        self._require()
        try:
            result = await dlq.redrive(self.bus, token, [seq], who, reason=reason)
        except ControlRefused as exc:
            if str(exc).startswith("no control gate answered"):
                raise Unavailable(str(exc)) from None
            raise Unauthorized(str(exc)) from None
        outcome = result.outcomes.get(seq, dlq.RedriveOutcome.MISSING)
        if outcome == dlq.RedriveOutcome.MISSING:
            return {"ok": False, "error": str(dlq.DeadLetterNotFound(seq))}
        return {
            "ok": True,
            "seq": seq,
            "outcome": outcome,
            "published_seq": result.published_seqs.get(seq),
            "audit_id": result.audit_id,
        }

    async def stream_info(self, stream: str) -> dict[str, Any] | None:
        self._require()
        try:
            info = await self.bus.js.stream_info(stream)
        except Exception:
            return None
        cfg = info.config
        return {
            "subjects": list(cfg.subjects or []),
            "num_replicas": cfg.num_replicas,
            "max_age_s": float(cfg.max_age or 0),
            "duplicate_window_s": float(cfg.duplicate_window or 0),
            "messages": info.state.messages,
        }
