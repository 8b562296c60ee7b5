"""The pre-trade risk engine of one broker: pure, deterministic, rebuilt from a snapshot.

`evaluate` runs the checks in `RiskEngine.CHECK_ORDER` and stops at the first that fails:

 1. UNKNOWN_STRATEGY    the strategy is not configured and enabled for this broker
 2. INSTRUMENT_NOT_ALLOWED  the instrument is not one of that strategy's instruments
 3. TRADING_HALTED      the broker is HALTED: everything else is refused
 4. INVALID_SIGNAL      quantity <= 0, or a LIMIT without a limit price > 0
 5. UNKNOWN_TICK        no tick prices the signal: it names none, or none that MARKET holds
                        for its instrument under that id, stored before the signal
 6. STALE_TICK          the tick was stored more than max_signal_tick_age_ms before the signal
 7. NO_MARKET_PRICE     the tick's last price <= 0 (nothing to value the order with)
 8. REDUCE_ONLY         REDUCING, and the order does not shrink the projected position
                        without crossing zero
 9. PRICE_COLLAR        a LIMIT price more than price_collar_pct % from the reference
10. MAX_ORDER_NOTIONAL  quantity x (limit price, else reference) > max_order_notional
11. MAX_POSITION        |projected position after| > max_position_qty       (*)
12. MAX_GROSS_EXPOSURE  sum of |projected qty| x last price > max_gross_exposure (*)
13. MAX_OPEN_ORDERS     accepted orders not yet closed >= max_open_orders
14. DAILY_LOSS_LIMIT    realized - charges + unrealized (since new_day) <= -daily_loss_limit (*)
15. RATE_LIMIT          token bucket on event time; only an accepted order spends a token

The reference is the last price of the tick the signal names, as the actor read it from
MARKET (`actors.named_tick`): no price of the signal itself values an order. The actor
passes the tick or the reason there is none (5, 6); the engine keeps the order of checks.

(*) only when the order increases |projected position|: reducing is always allowed there.
The projected position is the filled position plus the signed unfilled rest of every
accepted, unclosed order, so two quick signals cannot both pass a limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from actors.named_tick import NamedTick, TickRefusal
from actors.portfolio.book import apply_trade
from actors.risk.limits import RiskLimits
from actors.risk.token_bucket import BucketState, TokenBucket
from schemas.enums import OrderType, RejectReason, Side, TradingState
from schemas.events import OrderFilled, TradingSignal

__all__ = ["Decision", "RiskEngine", "RiskState"]

ZERO = Decimal(0)
R = RejectReason
# enum members as module aliases: an enum class attribute is a slow lookup on Python 3.11,
# and the checks run for every signal
_BUY = Side.BUY
_LIMIT = OrderType.LIMIT
_HALTED, _REDUCING = TradingState.HALTED, TradingState.REDUCING

#: ids of closed orders and of fills kept in memory, newest first out last. They are a second
#: guard only: the runtime never hands a stateful actor a stream message at or below its
#: applied sequence again, and the stream never stores a fill twice within its duplicate
#: window (an hour for PAPER; execution's `Nats-Msg-Id` is `<broker>:fill:<fill id>`), so
#: what is older than this window is already covered, and the day no longer grows memory.
RECENT_IDS = 4096


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    accepted: bool
    reason: RejectReason | None = None
    detail: str = ""


ACCEPT = Decision(accepted=True)


def _reject(reason: RejectReason, detail: str) -> Decision:
    return Decision(accepted=False, reason=reason, detail=detail)


class _Instrument(msgspec.Struct, kw_only=True):
    instrument_token: int
    quantity: int = 0
    cost: Decimal = ZERO
    last_price: Decimal = ZERO


class _Pending(msgspec.Struct, kw_only=True):
    client_order_id: str
    instrument_token: int
    side: Side
    quantity: int
    remaining: int
    closed: bool = False  # closed with fills still in flight: counts in position, not orders

    @property
    def signed(self) -> int:
        return self.remaining if self.side is _BUY else -self.remaining


class RiskState(msgspec.Struct, kw_only=True):
    """The engine's whole state, as `snapshot()` saves it; limits are configuration."""

    trading_state: TradingState = TradingState.ACTIVE
    instruments: dict[int, _Instrument] = msgspec.field(default_factory=dict)
    pending: dict[str, _Pending] = msgspec.field(default_factory=dict)
    realized_pnl: Decimal = ZERO
    charges: Decimal = ZERO
    unrealized_at_day_start: Decimal = ZERO
    bucket: BucketState | None = None
    accepted_ids: set[str] = msgspec.field(default_factory=set)
    fill_ids: set[str] = msgspec.field(default_factory=set)


class _RunningSums:
    """`RiskEngine.unrealized_pnl` and `gross_exposure()` kept up to date by each
    instrument's change instead of summed over every instrument for each signal.

    Each instrument's terms (quantity x last price - cost; |quantity + pending| x last
    price) are exact products of integers and prices, and the sums add and subtract exact
    terms, so a running sum equals the full sum in value (its exponent may differ, so a
    refusal's detail prints the full sum). `sync` replaces an instrument's terms.
    """

    __slots__ = ("gross", "gross_terms", "unrealized", "unrealized_terms")

    def __init__(self) -> None:
        self.unrealized = self.gross = ZERO
        self.unrealized_terms: dict[int, Decimal] = {}
        self.gross_terms: dict[int, Decimal] = {}

    def sync(self, token: int, inst: _Instrument | None, pending: int) -> None:
        if inst is None:
            unrealized, gross = ZERO, ZERO
        else:
            unrealized = inst.quantity * inst.last_price - inst.cost
            gross = abs(inst.quantity + pending) * inst.last_price
        self.unrealized += unrealized - self.unrealized_terms.get(token, ZERO)
        self.unrealized_terms[token] = unrealized
        self.gross += gross - self.gross_terms.get(token, ZERO)
        self.gross_terms[token] = gross

    def gross_with(self, token: int, quantity: int, price: Decimal) -> Decimal:
        """The gross exposure with `token` at |quantity| x price (`gross_exposure`'s override)."""
        return self.gross - self.gross_terms.get(token, ZERO) + abs(quantity) * price


def _remember(ids: set[str], order: deque[str], new: str) -> None:
    """Add `new`, dropping the oldest ids past `RECENT_IDS` (open orders stay `pending`)."""
    ids.add(new)
    order.append(new)
    while len(order) > RECENT_IDS:
        ids.discard(order.popleft())


class RiskEngine:
    """Pre-trade checks plus the state they need: positions, open orders, PnL, rate."""

    CHECK_ORDER: ClassVar[tuple[RejectReason, ...]] = (
        R.UNKNOWN_STRATEGY,
        R.INSTRUMENT_NOT_ALLOWED,
        R.TRADING_HALTED,
        R.INVALID_SIGNAL,
        R.UNKNOWN_TICK,
        R.STALE_TICK,
        R.NO_MARKET_PRICE,
        R.REDUCE_ONLY,
        R.PRICE_COLLAR,
        R.MAX_ORDER_NOTIONAL,
        R.MAX_POSITION,
        R.MAX_GROSS_EXPOSURE,
        R.MAX_OPEN_ORDERS,
        R.DAILY_LOSS_LIMIT,
        R.RATE_LIMIT,
    )

    def __init__(
        self,
        limits: RiskLimits | None = None,
        strategies: Mapping[str, Collection[int]] | None = None,
    ) -> None:
        """`strategies`: strategy id -> the instrument tokens it may trade on this broker
        (`actors.strategies.config.allowed_instruments`); none given, none may trade."""
        self.limits = limits or RiskLimits()
        self.strategies: dict[str, frozenset[int]] = {
            sid: frozenset(tokens) for sid, tokens in (strategies or {}).items()
        }
        self._bucket = TokenBucket(self.limits.rate_limit_per_s, self.limits.burst)
        self._collar_below_zero = self.limits.price_collar_pct < 0
        self._s = RiskState()
        self._running = _RunningSums()
        self._marked: set[int] = set()  # marked since the running sums last followed them
        self._fill_order: deque[str] = deque()  # fill_ids in arrival order, for eviction
        self._accepted_order: deque[str] = deque()

    def _sync(self, token: int) -> None:
        """The running sums follow a change to `token`'s position, mark or pending orders."""
        self._running.sync(token, self._s.instruments.get(token), self._pending_of(token))

    def _sums(self) -> _RunningSums:
        """The running sums, following the marks since they were last read."""
        if self._marked:
            for token in self._marked:
                self._sync(token)
            self._marked.clear()
        return self._running

    def _pending_of(self, token: int) -> int:
        rest = 0
        for p in self._s.pending.values():
            if p.instrument_token == token:
                rest += p.signed
        return rest

    # -- queries ------------------------------------------------------------------------

    @property
    def trading_state(self) -> TradingState:
        return self._s.trading_state

    @property
    def open_orders(self) -> int:
        count = 0  # a loop, not sum() over a generator: this runs for every signal
        for p in self._s.pending.values():
            count += not p.closed
        return count

    @property
    def realized_pnl(self) -> Decimal:
        """Today's, before charges."""
        return self._s.realized_pnl

    @property
    def charges(self) -> Decimal:
        return self._s.charges

    @property
    def unrealized_pnl(self) -> Decimal:
        total = ZERO  # a loop, not sum() over a generator: this runs for every signal
        for i in self._s.instruments.values():
            total += i.quantity * i.last_price - i.cost
        return total

    @property
    def daily_pnl(self) -> Decimal:
        """Net of charges, what the daily loss limit watches."""
        s = self._s
        return s.realized_pnl - s.charges + self.unrealized_pnl - s.unrealized_at_day_start

    def trades(self, strategy_id: str, instrument_token: int) -> bool:
        """Whether the configuration lets `strategy_id` trade `instrument_token` here."""
        return instrument_token in self.strategies.get(strategy_id, ())

    def position(self, instrument_token: int) -> int:
        inst = self._s.instruments.get(instrument_token)
        return inst.quantity if inst else 0

    def projected_position(self, instrument_token: int) -> int:
        return self.position(instrument_token) + self._pending_of(instrument_token)

    def gross_exposure(self, override: tuple[int, int, Decimal] | None = None) -> Decimal:
        """Sum of |projected qty| x last price; `override` = (token, qty, price) for one."""
        # one pass over the instruments without building dicts (this runs for every signal
        # that grows a position); the terms are exact products, so their order is immaterial
        s = self._s
        pending: dict[int, int] = {}
        for p in s.pending.values():
            pending[p.instrument_token] = pending.get(p.instrument_token, 0) + p.signed
        skip = None if override is None else override[0]
        total = ZERO
        for t, i in s.instruments.items():
            q = i.quantity + pending.pop(t, 0) if pending else i.quantity
            if t != skip:
                total += abs(q) * i.last_price
        for t, q in pending.items():  # pending on an instrument with no position or mark
            if t != skip:
                total += abs(q) * ZERO
        if override is not None:
            total += abs(override[1]) * override[2]
        return total

    # -- decisions ----------------------------------------------------------------------

    def evaluate(
        self,
        signal: TradingSignal,
        ts_ns: int,
        client_order_id: str,
        market: NamedTick | TickRefusal,
    ) -> Decision:
        """Accept (and count as pending) or reject; a redelivered accepted id is accepted again.

        `market` is the tick the signal names as the actor read it from MARKET, or why
        there is none; its last price is the reference every price check uses.
        """
        if client_order_id in self._s.accepted_ids or client_order_id in self._s.pending:
            return ACCEPT
        decision = self._check(signal, ts_ns, market)
        if decision.accepted:
            assert isinstance(market, NamedTick)
            _remember(self._s.accepted_ids, self._accepted_order, client_order_id)
            self._s.pending[client_order_id] = _Pending(
                client_order_id=client_order_id,
                instrument_token=signal.instrument_token,
                side=signal.side,
                quantity=signal.quantity,
                remaining=signal.quantity,
            )
            self._instrument(signal.instrument_token).last_price = market.tick.last_price
            self._sync(signal.instrument_token)
        return decision

    def _check(self, s: TradingSignal, ts_ns: int, market: NamedTick | TickRefusal) -> Decision:
        lim, limit = self.limits, s.limit_price
        allowed = self.strategies.get(s.strategy_id)
        if allowed is None:
            return _reject(
                R.UNKNOWN_STRATEGY,
                f"strategy {s.strategy_id!r} is not configured and enabled for this broker; "
                "only the strategies of the configuration (strategies.yaml or the strategies "
                "table) may trade",
            )
        if s.instrument_token not in allowed:
            return _reject(
                R.INSTRUMENT_NOT_ALLOWED,
                f"strategy {s.strategy_id!r} does not trade instrument {s.instrument_token}; "
                "add it to the strategy's instruments to trade it",
            )
        if self._s.trading_state is _HALTED:
            return _reject(R.TRADING_HALTED, "trading is HALTED for this broker; resume it first")
        if s.quantity <= 0:
            return _reject(R.INVALID_SIGNAL, f"quantity must be > 0, got {s.quantity}")
        limit_order = s.order_type is _LIMIT
        if limit_order and (limit is None or limit <= ZERO):
            return _reject(R.INVALID_SIGNAL, f"a LIMIT signal needs a limit price > 0, got {limit}")
        if isinstance(market, TickRefusal):
            return _reject(market.reason, market.detail)
        ref = market.tick.last_price
        if ref <= ZERO:
            return _reject(R.NO_MARKET_PRICE, f"the named tick has no last price > 0 (got {ref})")
        before = self.projected_position(s.instrument_token)
        after = before + s.quantity if s.side is _BUY else before - s.quantity
        increases = abs(after) > abs(before)
        # a reduction shrinks |position| without crossing zero (a flip opens new exposure)
        reduces = abs(after) < abs(before) and (after == 0 or (after > 0) == (before > 0))
        if self._s.trading_state is _REDUCING and not reduces:
            return _reject(R.REDUCE_ONLY, f"REDUCING: position {before} -> {after} is no reduction")
        price = limit if limit_order and limit is not None else ref
        # a market order is priced at the reference itself: no deviation to compute, unless
        # a negative collar refuses even that
        if (price is not ref or self._collar_below_zero) and (
            deviation := abs(price - ref) * 100 / ref
        ) > lim.price_collar_pct:
            return _reject(
                R.PRICE_COLLAR,
                f"limit {price} is {deviation:.2f}% from reference {ref} (collar "
                f"{lim.price_collar_pct}%)",
            )
        if (notional := s.quantity * price) > lim.max_order_notional:
            return _reject(R.MAX_ORDER_NOTIONAL, f"notional {notional} > {lim.max_order_notional}")
        if increases and abs(after) > lim.max_position_qty:
            return _reject(R.MAX_POSITION, f"position {after} beyond {lim.max_position_qty}")
        # the running sums decide (equal in value to the full sums); a refusal's detail
        # prints the full sum, as it always did
        running = self._sums()
        gross = running.gross_with(s.instrument_token, after, ref) if increases else ZERO
        if gross > lim.max_gross_exposure:
            gross = self.gross_exposure((s.instrument_token, after, ref)) if increases else ZERO
            return _reject(R.MAX_GROSS_EXPOSURE, f"gross {gross} > {lim.max_gross_exposure}")
        if self.open_orders >= lim.max_open_orders:
            return _reject(R.MAX_OPEN_ORDERS, f"{self.open_orders} open orders, the maximum")
        daily = (self._s.realized_pnl - self._s.charges + running.unrealized
                 - self._s.unrealized_at_day_start) if increases else ZERO  # fmt: skip
        if increases and daily <= -lim.daily_loss_limit:
            return _reject(
                R.DAILY_LOSS_LIMIT,
                f"daily PnL {self.daily_pnl} <= -{lim.daily_loss_limit}: reducing orders only",
            )
        if not self._bucket.try_take(ts_ns):
            return _reject(R.RATE_LIMIT, f"over {lim.rate_limit_per_s}/s (burst {lim.burst})")
        return ACCEPT

    # -- state updates ------------------------------------------------------------------

    def set_trading_state(self, state: TradingState) -> None:
        self._s.trading_state = state

    def on_fill(self, fill: OrderFilled) -> bool:
        """Move filled quantity from pending into the position; False for a repeated fill id."""
        s = self._s
        if fill.fill_id in s.fill_ids:
            return False
        _remember(s.fill_ids, self._fill_order, fill.fill_id)
        inst = self._instrument(fill.instrument_token)
        signed = fill.side.sign * fill.quantity
        inst.quantity, inst.cost, realized = apply_trade(
            inst.quantity, inst.cost, signed, fill.price
        )
        inst.last_price = fill.price
        s.realized_pnl += realized
        s.charges += fill.charges.total
        pending = s.pending.get(fill.client_order_id)
        if pending is not None:
            pending.remaining -= fill.quantity
            if pending.remaining <= 0 or fill.final:
                del s.pending[fill.client_order_id]
        self._sync(fill.instrument_token)
        return True

    def on_order_closed(self, client_order_id: str, filled_qty: int = 0) -> bool:
        """Release an order cancelled, failed or rejected downstream; False if not open.

        Fills the broker reports (`filled_qty`) but this engine has not seen yet stay
        projected until they arrive; the order stops counting as open at once.
        """
        pending = self._s.pending.get(client_order_id)
        if pending is None or pending.closed:
            return False
        in_flight = filled_qty - (pending.quantity - pending.remaining)
        if in_flight > 0:
            pending.remaining, pending.closed = in_flight, True
        else:
            del self._s.pending[client_order_id]
        self._sync(pending.instrument_token)
        return True

    def mark(self, instrument_token: int, price: Decimal) -> None:
        if price > ZERO:
            # every signal marks its instrument first: the sums follow when next read
            self._instrument(instrument_token).last_price = price
            self._marked.add(instrument_token)

    def new_day(self) -> None:
        """Start a trading day: PnL counters restart and the previous day's ids are dropped."""
        s = self._s
        s.unrealized_at_day_start = self.unrealized_pnl
        s.realized_pnl = s.charges = ZERO
        s.accepted_ids = set(s.pending)
        s.fill_ids = set()
        self._fill_order.clear()
        self._accepted_order = deque(s.accepted_ids)

    def _instrument(self, token: int) -> _Instrument:
        inst = self._s.instruments.get(token)
        if inst is None:
            inst = self._s.instruments[token] = _Instrument(instrument_token=token)
        return inst

    # -- persistence --------------------------------------------------------------------

    def state(self) -> RiskState:
        """A copy of the whole state, rate bucket included, that `restore_state` reads."""
        return msgspec.structs.replace(self._s, bucket=self._bucket.state())

    def restore_state(self, state: RiskState) -> None:
        if state.bucket is not None:
            self._bucket.restore(state.bucket)
        self._s = state
        self._fill_order = deque(state.fill_ids)
        self._accepted_order = deque(state.accepted_ids)
        self._running = _RunningSums()
        self._marked.clear()
        for token in {*state.instruments, *(p.instrument_token for p in state.pending.values())}:
            self._sync(token)

    def snapshot(self) -> dict[str, Any]:
        """`state()` JSON-able (Decimals as strings, sorted keys and ids) for `restore`."""
        result: dict[str, Any] = msgspec.to_builtins(self.state(), str_keys=True, order="sorted")
        return result

    def restore(self, data: Mapping[str, Any]) -> None:
        self.restore_state(msgspec.convert(data, RiskState, strict=False))  # "408065" keys
