"""A deterministic, resumable mock market: geometric Brownian motion on the tick grid.

Tick number `i` (0-based, global across instruments) is a pure function of
`(seed, i, state after tick i-1)`:

- the instrument is chosen round-robin: `instruments[i % n]`, in the order given;
- every random number of tick `i` comes from SHAKE-128 of `"alpha-panda-gbm:<seed>:<i>"`
  (a counter-based generator), so nothing depends on how many ticks were drawn before, on
  a global RNG or on the wall clock;
- the per-instrument state is exactly what the tick itself carries (last price, day OHLC,
  cumulative volume, average traded price), so a feed resumed from `state()` or from the
  last tick of each instrument in the MARKET stream continues as if never stopped.

The price step is `S' = S·exp(-vol²·dt/2 + vol·√dt·Z)` with `dt` in trading years (252 days of
6h15m), then rounded to the tick grid stochastically (up with probability equal to the
fractional part), which keeps the walk unbiased and lets moves smaller than a tick
accumulate. Prices never drop below one tick.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from actors.instruments import Instrument
from schemas.events import Depth, DepthLevel, MarketTick, Ohlc

__all__ = [
    "GbmFeed",
    "FeedState",
    "InstrumentState",
    "state_of_tick",
    "DEFAULT_START_NS",
    "TRADING_SECONDS_PER_YEAR",
]

TRADING_SECONDS_PER_YEAR = 252 * 22_500  # 252 sessions of 09:15-15:30 IST
DEFAULT_START_NS = 1_704_080_700_000_000_000  # 2024-01-01 09:15:00 IST
DEPTH_LEVELS = 5
MAX_TRADE_LOTS = 500
MAX_LEVEL_LOTS = 2_000
PAISE = Decimal("0.01")
CHANGE_STEP = Decimal("0.0001")
_GRID_CACHE = 50_000  # grid prices kept per instrument before the cache starts afresh
_N_UNIFORMS = 7 + 4 * DEPTH_LEVELS  # normal(2) rounding trade spread offset totals(2) + depth
_UNPACK = struct.Struct(f">{_N_UNIFORMS}Q").unpack


class InstrumentState(msgspec.Struct, frozen=True, kw_only=True):
    """What the feed remembers about one instrument: exactly what its last tick carries."""

    last_price: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal  # the previous session's close, as Kite's `ohlc.close` during the day
    volume: int = 0
    average_price: Decimal = Decimal(0)


class FeedState(msgspec.Struct, frozen=True, kw_only=True):
    """A feed's resume point; JSON-able with `msgspec.json.encode`."""

    next_index: int = 0
    instruments: dict[int, InstrumentState] = msgspec.field(default_factory=dict)


class GbmFeed:
    """The mock market feed; `next_tick()` returns tick number `next_index` and advances."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        seed: int,
        *,
        tick_interval_s: float = 0.01,
        start_ns: int = DEFAULT_START_NS,
        time_scale: float = 300.0,
    ) -> None:
        """`tick_interval_s` separates consecutive ticks (all instruments); `time_scale`
        is how many market seconds pass per second of feed time, so the demo moves."""
        self._instruments = tuple(instruments)
        if not self._instruments:
            raise ValueError("GbmFeed needs at least one instrument")
        if tick_interval_s <= 0 or time_scale <= 0:
            raise ValueError("tick_interval_s and time_scale must be positive")
        self.seed = seed
        self.tick_interval_s = tick_interval_s
        self.start_ns = start_ns
        self.time_scale = time_scale
        step_s = tick_interval_s * len(self._instruments) * time_scale
        self._dt_years = step_s / TRADING_SECONDS_PER_YEAR
        self._interval_ns = round(tick_interval_s * 1e9)
        self._tokens = frozenset(i.instrument_token for i in self._instruments)
        if len(self._tokens) != len(self._instruments):
            raise ValueError("GbmFeed got the same instrument twice; pass each one once")
        self._next_index = 0
        self._states: dict[int, InstrumentState] = {}
        # price = tick size * n: a Decimal multiplication costs more than a dict lookup, and
        # a walk (with its depth) revisits the same few hundred grid prices all day
        self._grids: dict[int, dict[int, Decimal]] = {
            i.instrument_token: {} for i in self._instruments
        }

    @classmethod
    def resume(
        cls,
        instruments: Iterable[Instrument],
        seed: int,
        state: FeedState,
        *,
        tick_interval_s: float = 0.01,
        start_ns: int = DEFAULT_START_NS,
        time_scale: float = 300.0,
    ) -> GbmFeed:
        """Continue from a saved `state()`; pass the same instruments and parameters."""
        if state.next_index < 0:
            raise ValueError(f"a feed state's next_index is >= 0, got {state.next_index}")
        feed = cls(
            instruments,
            seed,
            tick_interval_s=tick_interval_s,
            start_ns=start_ns,
            time_scale=time_scale,
        )
        feed._next_index = state.next_index
        feed._states = {t: s for t, s in state.instruments.items() if t in feed._tokens}
        return feed

    @classmethod
    def resume_from_ticks(
        cls,
        instruments: Iterable[Instrument],
        seed: int,
        next_index: int,
        last_ticks: Mapping[int, MarketTick],
        *,
        tick_interval_s: float = 0.01,
        start_ns: int = DEFAULT_START_NS,
        time_scale: float = 300.0,
    ) -> GbmFeed:
        """Continue from the last tick of each instrument (e.g. read back from MARKET)."""
        states = {token: state_of_tick(tick) for token, tick in last_ticks.items()}
        state = FeedState(next_index=next_index, instruments=states)
        return cls.resume(
            instruments,
            seed,
            state,
            tick_interval_s=tick_interval_s,
            start_ns=start_ns,
            time_scale=time_scale,
        )

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return self._instruments

    @property
    def next_index(self) -> int:
        return self._next_index

    def state(self) -> FeedState:
        return FeedState(next_index=self._next_index, instruments=dict(self._states))

    def timestamp_ns(self, index: int) -> int:
        """The simulated time of tick `index`: `start_ns + index · tick_interval_s`."""
        return self.start_ns + index * self._interval_ns

    def next_tick(self, ts_ns: int | None = None) -> MarketTick:
        """Produce the next tick, stamped `ts_ns` (default: the simulated time)."""
        index = self._next_index
        inst = self._instruments[index % len(self._instruments)]
        ts = self.timestamp_ns(index) if ts_ns is None else ts_ns
        prev = self._states.get(inst.instrument_token)
        tick, state = self._step(inst, prev, _uniforms(self.seed, index), ts)
        self._states[inst.instrument_token] = state
        self._next_index = index + 1
        return tick

    def take(self, count: int) -> list[tuple[int, MarketTick]]:
        """The next `count` ticks with their simulated timestamps."""
        out = []
        for _ in range(count):
            ts = self.timestamp_ns(self._next_index)
            out.append((ts, self.next_tick(ts)))
        return out

    def _step(
        self, inst: Instrument, prev: InstrumentState | None, u: list[float], ts: int
    ) -> tuple[MarketTick, InstrumentState]:
        tick = inst.tick_size
        last = prev.last_price if prev else inst.base_price
        z = math.sqrt(-2.0 * math.log(u[0])) * math.cos(2.0 * math.pi * u[1])
        sigma, dt = inst.annual_volatility, self._dt_years
        moved = float(last) * math.exp(-0.5 * sigma * sigma * dt + sigma * math.sqrt(dt) * z)
        steps, frac = divmod(moved / float(tick), 1.0)
        n_ticks = max(1, int(steps) + (1 if u[2] < frac else 0))
        grid = self._grids[inst.instrument_token]
        if len(grid) > _GRID_CACHE:
            grid.clear()
        price = grid.get(n_ticks) or grid.setdefault(n_ticks, tick * n_ticks)

        lot = inst.lot_size
        traded = lot * (1 + int(u[3] * MAX_TRADE_LOTS))
        volume = (prev.volume if prev else 0) + traded
        prev_avg = prev.average_price if prev else Decimal(0)
        prev_volume = prev.volume if prev else 0
        average = ((prev_avg * prev_volume + price * traded) / volume).quantize(
            PAISE, rounding=ROUND_HALF_UP
        )
        state = InstrumentState(
            last_price=price,
            open=prev.open if prev else price,
            high=max(prev.high, price) if prev else price,
            low=min(prev.low, price) if prev else price,
            close=prev.close if prev else inst.base_price,
            volume=volume,
            average_price=average,
        )

        spread = 1 + int(u[4] * 3)  # 1..3 ticks
        best_bid = n_ticks - int(u[5] * (spread + 1))  # last price lies within [bid, ask]
        levels = u[7:]
        bids = []
        bid_qty = 0
        for k in range(DEPTH_LEVELS):
            n = best_bid - k
            if n <= 0:
                break
            quantity = lot * (1 + int(levels[k] * MAX_LEVEL_LOTS))
            bid_qty += quantity
            bids.append(
                DepthLevel(
                    price=grid.get(n) or grid.setdefault(n, tick * n),
                    quantity=quantity,
                    orders=1 + int(levels[DEPTH_LEVELS + k] * 20),
                )
            )
        asks = []
        ask_qty = 0
        for k in range(DEPTH_LEVELS):
            n = best_bid + spread + k
            quantity = lot * (1 + int(levels[2 * DEPTH_LEVELS + k] * MAX_LEVEL_LOTS))
            ask_qty += quantity
            asks.append(
                DepthLevel(
                    price=grid.get(n) or grid.setdefault(n, tick * n),
                    quantity=quantity,
                    orders=1 + int(levels[3 * DEPTH_LEVELS + k] * 20),
                )
            )
        resting = 1 + int(u[6] * 100)
        change = ((price - state.close) * 100 / state.close).quantize(CHANGE_STEP, ROUND_HALF_UP)
        market_tick = MarketTick(
            instrument_token=inst.instrument_token,
            last_price=price,
            symbol=inst.tradingsymbol,
            last_traded_quantity=traded,
            average_traded_price=average,
            volume_traded=volume,
            total_buy_quantity=resting * bid_qty,
            total_sell_quantity=(101 - resting) * ask_qty,
            ohlc=Ohlc(open=state.open, high=state.high, low=state.low, close=state.close),
            change=change,
            last_trade_time_ns=ts,
            exchange_timestamp_ns=ts,
            depth=Depth(buy=bids, sell=asks),
        )
        return market_tick, state


def state_of_tick(tick: MarketTick) -> InstrumentState:
    """The feed state a tick implies (exact for ticks this module produced)."""
    ohlc = tick.ohlc
    price = tick.last_price
    return InstrumentState(
        last_price=price,
        open=ohlc.open if ohlc else price,
        high=ohlc.high if ohlc else price,
        low=ohlc.low if ohlc else price,
        close=ohlc.close if ohlc else price,
        volume=tick.volume_traded,
        average_price=tick.average_traded_price if tick.average_traded_price is not None else price,
    )


def _uniforms(seed: int, index: int) -> list[float]:
    """`_N_UNIFORMS` numbers in (0, 1), a pure function of (seed, index)."""
    digest = hashlib.shake_128(f"alpha-panda-gbm:{seed}:{index}".encode()).digest(8 * _N_UNIFORMS)
    return [((x >> 11) + 0.5) * 2.0**-53 for x in _UNPACK(digest)]
