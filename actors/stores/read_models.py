"""Read models for the web and pipeline metrics: Redis, or memory when REDIS_URL is unset.

Keys carry the broker as prefix (DESIGN "Storage roles"); shared actors (the feed) write
their pipeline metrics under `market:`:

    <b>:portfolio:pnl         string  JSON of the latest PnlSnapshot
    <b>:portfolio:positions   hash    instrument_token -> JSON PositionView (all strategies)
    <b>:portfolio:strategies  hash    strategy_id -> JSON StrategyPnl
    <b>:portfolio:strategy_positions
                              hash    "<strategy_id>/<instrument_token>" -> JSON PositionView
    <b>:orders:recent         list    JSON order events (envelopes), newest first, capped
    <b>:signals:rejections    hash    reject reason -> count
    <b>:pipeline              set     stage names that have metrics
    <b>:pipeline:<stage>      hash    count, last_ts (ns)

Decimals travel as JSON strings. Writers are at-least-once consumers, so every write is
idempotent or monotonic: a snapshot older than the stored one is ignored (the three
portfolio hashes are replaced with it, in one atomic step), and an order event already in
the recent list is not pushed again.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import msgspec
import redis.asyncio as aioredis

from schemas.envelope import Envelope
from schemas.events import Event, PnlSnapshot, PositionView, StrategyPnl
from schemas.names import parse_broker

__all__ = [
    "SHARED",
    "BrokerKeys",
    "strategy_position_field",
    "StageMetrics",
    "ReadModelStore",
    "RedisReadModels",
    "MemoryReadModels",
    "open_read_models",
]

SHARED: Final = "market"
_encoder: Final = msgspec.json.Encoder(decimal_format="string")
_pnl_decoder: Final = msgspec.json.Decoder(PnlSnapshot)
_position_decoder: Final = msgspec.json.Decoder(PositionView)
_strategy_decoder: Final = msgspec.json.Decoder(StrategyPnl)


def strategy_position_field(strategy_id: str, instrument_token: int) -> str:
    """The field of a (strategy, instrument) position in `<b>:portfolio:strategy_positions`."""
    return f"{strategy_id}/{instrument_token}"


def _parse_field(field: str) -> tuple[str, int]:
    strategy_id, _, token = field.rpartition("/")
    return strategy_id, int(token)


@dataclass(frozen=True, slots=True)
class BrokerKeys:
    """The Redis keys of one broker (or of `SHARED` for actors of no broker)."""

    prefix: str

    @classmethod
    def of(cls, broker: str | None) -> BrokerKeys:
        return cls(SHARED if broker is None else parse_broker(broker))

    @property
    def pnl(self) -> str:
        return f"{self.prefix}:portfolio:pnl"

    @property
    def positions(self) -> str:
        return f"{self.prefix}:portfolio:positions"

    @property
    def strategies(self) -> str:
        return f"{self.prefix}:portfolio:strategies"

    @property
    def strategy_positions(self) -> str:
        return f"{self.prefix}:portfolio:strategy_positions"

    @property
    def recent_orders(self) -> str:
        return f"{self.prefix}:orders:recent"

    @property
    def rejections(self) -> str:
        return f"{self.prefix}:signals:rejections"

    @property
    def stages(self) -> str:
        return f"{self.prefix}:pipeline"

    def stage(self, stage: str) -> str:
        if not stage or ":" in stage or stage != stage.strip():
            raise ValueError(f"invalid pipeline stage {stage!r}: non-empty, no ':' or spaces")
        return f"{self.prefix}:pipeline:{stage}"


class StageMetrics(msgspec.Struct, frozen=True):
    """How many items a stage handled and when it last saw one (ns since the epoch)."""

    count: int = 0
    last_ts: int = 0

    def add(self, other: StageMetrics) -> StageMetrics:
        return StageMetrics(self.count + other.count, max(self.last_ts, other.last_ts))


class ReadModelStore(Protocol):
    """What actors write and the web reads; `broker` is "paper" or "zerodha"."""

    async def ping(self) -> None: ...
    async def write_pnl(self, broker: str, snapshot: PnlSnapshot) -> bool:
        """Store the snapshot and replace the positions; False (nothing written) if the
        stored snapshot is newer, e.g. when an old snapshot is redelivered."""
        ...

    async def read_pnl(self, broker: str) -> PnlSnapshot | None: ...
    async def positions(self, broker: str) -> dict[int, PositionView]: ...
    async def strategies(self, broker: str) -> dict[str, StrategyPnl]:
        """The latest snapshot's per-strategy figures, by strategy id."""
        ...

    async def strategy_positions(self, broker: str) -> dict[tuple[str, int], PositionView]:
        """The latest snapshot's positions per (strategy id, instrument token)."""
        ...

    async def write_order_event(self, broker: str, event: Envelope[Any] | Event) -> bool:
        """Push onto the capped recent list; False if the same event is already there."""
        ...

    async def recent_orders(self, broker: str, n: int = 50) -> list[dict[str, Any]]: ...
    async def incr_rejection(self, broker: str, reason: str, n: int = 1) -> None: ...
    async def rejections(self, broker: str) -> dict[str, int]: ...
    async def add_pipeline_counts(self, batch: Mapping[tuple[str, str], StageMetrics]) -> None:
        """Add `{(broker or SHARED, stage): metrics}` in one round trip (see PipelineMetrics)."""
        ...

    async def pipeline_metrics(self, broker: str | None) -> dict[str, StageMetrics]: ...
    async def close(self) -> None: ...


def _pnl_hashes(snapshot: PnlSnapshot) -> tuple[dict[str, bytes], ...]:
    """The positions, strategies and strategy-positions hashes of a snapshot."""
    return (
        {str(p.instrument_token): _encoder.encode(p) for p in snapshot.positions},
        {s.strategy_id: _encoder.encode(s) for s in snapshot.strategies},
        {
            strategy_position_field(p.strategy_id, p.instrument_token): _encoder.encode(p)
            for p in snapshot.strategy_positions
        },
    )


def _order_json(event: Envelope[Any] | Event) -> bytes:
    if isinstance(event, Envelope):
        return _encoder.encode(event)
    return _encoder.encode({"type": event.TYPE, "data": event})


# The stored snapshot's as_of_ns is read from its JSON with a pattern rather than cjson,
# because cjson turns numbers into doubles and ns timestamps need 19 exact digits; equal
# lengths compare as strings. The three hashes (KEYS[2..4]) are replaced in the same atomic
# step; ARGV[3..5] are their field-value pair counts, and the pairs follow in that order.
_WRITE_PNL: Final = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local old, new = string.match(cur, '"as_of_ns":(%d+)'), ARGV[1]
  if old and (#old > #new or (#old == #new and old > new)) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2])
local at = 6
for i = 1, 3 do
  local n = tonumber(ARGV[2 + i])
  redis.call('DEL', KEYS[1 + i])
  if n > 0 then redis.call('HSET', KEYS[1 + i], unpack(ARGV, at, at + 2 * n - 1)) end
  at = at + 2 * n
end
return 1
"""
_PUSH_ORDER: Final = """
if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1
"""
_ADD_STAGE: Final = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'count', ARGV[2])
local cur = redis.call('HGET', KEYS[2], 'last_ts')
if not cur or #cur < #ARGV[3] or (#cur == #ARGV[3] and cur < ARGV[3]) then
  redis.call('HSET', KEYS[2], 'last_ts', ARGV[3])
end
return 1
"""


class RedisReadModels:
    """Read models in Redis (`REDIS_URL`)."""

    def __init__(self, url: str, *, recent_orders_cap: int = 200) -> None:
        self._redis = aioredis.Redis.from_url(url)
        self._cap = recent_orders_cap
        self._write_pnl = self._redis.register_script(_WRITE_PNL)
        self._push_order = self._redis.register_script(_PUSH_ORDER)
        self._add_stage = self._redis.register_script(_ADD_STAGE)
        self._closed = False

    async def ping(self) -> None:
        await self._redis.ping()

    async def write_pnl(self, broker: str, snapshot: PnlSnapshot) -> bool:
        keys = BrokerKeys.of(broker)
        hashes = _pnl_hashes(snapshot)
        args: list[Any] = [str(snapshot.as_of_ns), _encoder.encode(snapshot)]
        args += [len(h) for h in hashes]
        for h in hashes:
            for field, value in h.items():
                args += [field, value]
        return bool(
            await self._write_pnl(
                keys=[keys.pnl, keys.positions, keys.strategies, keys.strategy_positions],
                args=args,
            )
        )

    async def read_pnl(self, broker: str) -> PnlSnapshot | None:
        raw = await self._redis.get(BrokerKeys.of(broker).pnl)
        return None if raw is None else _pnl_decoder.decode(raw)

    async def positions(self, broker: str) -> dict[int, PositionView]:
        raw = await self._redis.hgetall(BrokerKeys.of(broker).positions)
        return {int(k): _position_decoder.decode(v) for k, v in raw.items()}

    async def strategies(self, broker: str) -> dict[str, StrategyPnl]:
        raw = await self._redis.hgetall(BrokerKeys.of(broker).strategies)
        return {k.decode(): _strategy_decoder.decode(v) for k, v in sorted(raw.items())}

    async def strategy_positions(self, broker: str) -> dict[tuple[str, int], PositionView]:
        raw = await self._redis.hgetall(BrokerKeys.of(broker).strategy_positions)
        return {_parse_field(k.decode()): _position_decoder.decode(v) for k, v in raw.items()}

    async def write_order_event(self, broker: str, event: Envelope[Any] | Event) -> bool:
        key = BrokerKeys.of(broker).recent_orders
        return bool(await self._push_order(keys=[key], args=[_order_json(event), self._cap]))

    async def recent_orders(self, broker: str, n: int = 50) -> list[dict[str, Any]]:
        raw = await self._redis.lrange(BrokerKeys.of(broker).recent_orders, 0, n - 1)
        return [msgspec.json.decode(r) for r in raw]

    async def incr_rejection(self, broker: str, reason: str, n: int = 1) -> None:
        await self._redis.hincrby(BrokerKeys.of(broker).rejections, reason, n)

    async def rejections(self, broker: str) -> dict[str, int]:
        raw = await self._redis.hgetall(BrokerKeys.of(broker).rejections)
        return {k.decode(): int(v) for k, v in raw.items()}

    async def add_pipeline_counts(self, batch: Mapping[tuple[str, str], StageMetrics]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for (prefix, stage), m in batch.items():
                keys = BrokerKeys(prefix)
                await self._add_stage(
                    keys=[keys.stages, keys.stage(stage)],
                    args=[stage, m.count, str(m.last_ts)],
                    client=pipe,
                )
            await pipe.execute()

    async def pipeline_metrics(self, broker: str | None) -> dict[str, StageMetrics]:
        keys = BrokerKeys.of(broker)
        stages = sorted(s.decode() for s in await self._redis.smembers(keys.stages))
        async with self._redis.pipeline(transaction=False) as pipe:
            for stage in stages:
                pipe.hgetall(keys.stage(stage))
            hashes = await pipe.execute()
        return {
            stage: StageMetrics(int(h.get(b"count", 0)), int(h.get(b"last_ts", 0)))
            for stage, h in zip(stages, hashes, strict=True)
        }

    async def close(self) -> None:
        """Close the connection pool; safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._redis.aclose()


class MemoryReadModels:
    """The embedded fallback: the same behaviour, per process, lost on exit."""

    def __init__(self, *, recent_orders_cap: int = 200) -> None:
        self._cap = recent_orders_cap
        self._pnl: dict[str, tuple[int, bytes]] = {}
        self._positions: dict[str, dict[int, bytes]] = {}
        self._strategies: dict[str, dict[str, bytes]] = {}
        self._strategy_positions: dict[str, dict[str, bytes]] = {}
        self._orders: dict[str, deque[bytes]] = {}
        self._rejections: dict[str, Counter[str]] = {}
        self._stages: dict[str, dict[str, StageMetrics]] = {}

    async def ping(self) -> None:
        return None

    async def write_pnl(self, broker: str, snapshot: PnlSnapshot) -> bool:
        prefix = BrokerKeys.of(broker).prefix
        stored = self._pnl.get(prefix)
        if stored is not None and snapshot.as_of_ns < stored[0]:
            return False
        self._pnl[prefix] = (snapshot.as_of_ns, _encoder.encode(snapshot))
        self._positions[prefix] = {
            p.instrument_token: _encoder.encode(p) for p in snapshot.positions
        }
        _, self._strategies[prefix], self._strategy_positions[prefix] = _pnl_hashes(snapshot)
        return True

    async def read_pnl(self, broker: str) -> PnlSnapshot | None:
        stored = self._pnl.get(BrokerKeys.of(broker).prefix)
        return None if stored is None else _pnl_decoder.decode(stored[1])

    async def positions(self, broker: str) -> dict[int, PositionView]:
        raw = self._positions.get(BrokerKeys.of(broker).prefix, {})
        return {k: _position_decoder.decode(v) for k, v in raw.items()}

    async def strategies(self, broker: str) -> dict[str, StrategyPnl]:
        raw = self._strategies.get(BrokerKeys.of(broker).prefix, {})
        return {k: _strategy_decoder.decode(v) for k, v in sorted(raw.items())}

    async def strategy_positions(self, broker: str) -> dict[tuple[str, int], PositionView]:
        raw = self._strategy_positions.get(BrokerKeys.of(broker).prefix, {})
        return {_parse_field(k): _position_decoder.decode(v) for k, v in raw.items()}

    async def write_order_event(self, broker: str, event: Envelope[Any] | Event) -> bool:
        prefix = BrokerKeys.of(broker).prefix
        recent = self._orders.setdefault(prefix, deque(maxlen=self._cap))
        raw = _order_json(event)
        if raw in recent:
            return False
        recent.appendleft(raw)
        return True

    async def recent_orders(self, broker: str, n: int = 50) -> list[dict[str, Any]]:
        recent = self._orders.get(BrokerKeys.of(broker).prefix, deque())
        return [msgspec.json.decode(r) for r in list(recent)[:n]]

    async def incr_rejection(self, broker: str, reason: str, n: int = 1) -> None:
        self._rejections.setdefault(BrokerKeys.of(broker).prefix, Counter())[reason] += n

    async def rejections(self, broker: str) -> dict[str, int]:
        return dict(self._rejections.get(BrokerKeys.of(broker).prefix, Counter()))

    async def add_pipeline_counts(self, batch: Mapping[tuple[str, str], StageMetrics]) -> None:
        for (prefix, stage), m in batch.items():
            BrokerKeys(prefix).stage(stage)  # the same validation as Redis
            stages = self._stages.setdefault(prefix, {})
            stages[stage] = stages.get(stage, StageMetrics()).add(m)

    async def pipeline_metrics(self, broker: str | None) -> dict[str, StageMetrics]:
        return dict(sorted(self._stages.get(BrokerKeys.of(broker).prefix, {}).items()))

    async def close(self) -> None:
        return None


def open_read_models(redis_url: str | None) -> ReadModelStore:
    """Redis when REDIS_URL is set, else the in-memory fallback."""
    return RedisReadModels(redis_url) if redis_url else MemoryReadModels()
