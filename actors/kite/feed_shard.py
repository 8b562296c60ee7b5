"""One ticker connection of the feed: an official `KiteTicker` for up to 3,000 instruments.

Everything here except the counters' readers runs in the reactor thread (see
`feed_reactor`). The connection's raw binary frames are decoded with our own codec (exact
`Decimal` prices, not the floats of `KiteTicker`'s parser) and put on the bridge queue;
text frames are KiteTicker's (order updates go to the shard's `on_order_update`).

Reconnects are KiteTicker's own (Twisted's `ReconnectingClientFactory`, with the backoff of
the feed's config); on reconnect KiteTicker resubscribes every token in the mode it had. The
feed's watchdog forces one by aborting a silent connection (`force_reconnect`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from kiteconnect import KiteTicker

from actors.kite.feed_frames import BadPacket, split_frame
from actors.kite.feed_queue import BridgeQueue
from actors.kite.session import KiteSession
from schemas.events import MarketTick

__all__ = ["Shard", "ShardSettings"]

log = logging.getLogger(__name__)

OrderUpdate = Callable[[dict[str, Any]], None]
Item = MarketTick | BadPacket


class ShardSettings:
    """What a connection needs to know about reconnecting (from the feed's config)."""

    def __init__(
        self, *, mode: str, backoff_min_s: float, backoff_max_s: float, connect_timeout_s: float
    ) -> None:
        self.mode = mode
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.connect_timeout_s = connect_timeout_s


class _Ticker(KiteTicker):  # type: ignore[misc]
    """KiteTicker with our backoff: it clamps `reconnect_max_delay` to at least 5 s, too slow
    for "recovers within the watchdog interval"; and a quiet factory (no per-attempt log
    lines, which Twisted would otherwise buffer until someone starts its logging)."""

    settings: ShardSettings

    def _create_connection(self, url: str, **kwargs: Any) -> None:
        super()._create_connection(url, **kwargs)
        factory = self.factory
        factory.initialDelay = self.settings.backoff_min_s
        factory.delay = self.settings.backoff_min_s
        factory.maxDelay = self.settings.backoff_max_s
        factory.factor = 2.0
        factory.noisy = False


class Shard:
    """One connection; `start`, `force_reconnect` and `stop` must run in the reactor."""

    def __init__(
        self,
        index: int,
        session: KiteSession,
        tokens: Sequence[int],
        settings: ShardSettings,
        queue: BridgeQueue[Item],
        on_order_update: OrderUpdate,
    ) -> None:
        self.index = index
        self.tokens = list(tokens)
        self.settings = settings
        self._session = session
        self._queue = queue
        self._on_order_update = on_order_update
        self._ticker: _Ticker | None = None
        self.open = False
        self.stopping = False
        self.closed = False
        self.generation = 0  # one more per opened connection: a stale watchdog verdict is ignored
        self.connects = 0
        self.closes = 0
        self.frames = 0
        self.heartbeats = 0
        self.ticks = 0
        self.bad_packets = 0
        self.order_updates = 0
        self.last_frame = time.monotonic()  # a new connection gets a full stall budget

    # --- reactor thread ----------------------------------------------------------------------

    def start(self) -> None:
        ticker = _Ticker(
            self._session.api_key,
            self._session.access_token.get_secret_value(),
            root=self._session.ws_root,
            reconnect=True,
            reconnect_max_tries=300,
            reconnect_max_delay=5,
            connect_timeout=self.settings.connect_timeout_s,
        )
        ticker.settings = self.settings
        ticker.on_open = self._opened
        ticker.on_close = self._closed
        ticker.on_message = self._message
        ticker.on_order_update = self._order_update
        ticker.on_noreconnect = self._gave_up
        self._ticker = ticker
        ticker.connect()  # in the reactor, so it only schedules the connection

    def force_reconnect(self, generation: int) -> None:
        """Abort the connection `generation` (if still current); KiteTicker reconnects."""
        ws = self._ticker.ws if self._ticker is not None else None
        if ws is not None and self.open and generation == self.generation and not self.stopping:
            ws.dropConnection(abort=True)

    def stop(self) -> None:
        """Close for good: no more retries, and a close frame if a connection is open (a
        handshake still under way is closed by `_opened` when it completes)."""
        self.stopping = True
        ticker = self._ticker
        if ticker is None:
            self.closed = True
            return
        ticker.stop_retry()
        if self.open:
            ticker.close()  # `_closed` marks the shard closed when the close completes
        else:
            self.closed = True

    def _release(self) -> None:
        if self._ticker is not None:
            for name in ("on_open", "on_close", "on_message", "on_order_update", "on_noreconnect"):
                setattr(self._ticker, name, None)
        self._ticker = None

    def _opened(self, ticker: KiteTicker) -> None:
        self.open = True
        self.generation += 1
        self.connects += 1
        self.last_frame = time.monotonic()
        if self.stopping:  # a handshake that finished after stop()
            self.closed = False
            ticker.close()
            return
        if not ticker.subscribed_tokens:  # first connection; KiteTicker resubscribes later ones
            ticker.subscribe(self.tokens)
            ticker.set_mode(self.settings.mode, self.tokens)
        log.info("kite feed shard %d connected (%d instruments, %s mode, connection %d)",
                 self.index, len(self.tokens), self.settings.mode, self.connects)  # fmt: skip

    def _closed(self, ticker: KiteTicker, code: int | None, reason: object) -> None:
        if self.open:
            self.closes += 1
        self.open = False
        if self.stopping:
            self.closed = True
            self._release()

    def _gave_up(self, ticker: KiteTicker) -> None:
        # KiteTicker stops after 300 failed attempts; a live feed never does: start afresh
        # with a new connection of the same ticker (it resubscribes what it had).
        if self.stopping:
            return
        from twisted.internet import reactor

        log.error("kite feed shard %d: reconnects exhausted; starting over", self.index)
        reactor.callLater(self.settings.backoff_max_s, self._restart)  # type: ignore[arg-type]

    def _restart(self) -> None:
        if not self.stopping and self._ticker is not None:
            self._ticker.connect()

    def _message(self, ticker: KiteTicker, payload: bytes, is_binary: bool) -> None:
        self.last_frame = time.monotonic()
        self.frames += 1
        if self.stopping or not is_binary:
            return
        if len(payload) < 2:
            self.heartbeats += 1
            return
        for item in split_frame(payload):
            if isinstance(item, BadPacket):
                self.bad_packets += 1
            else:
                self.ticks += 1
            self._queue.put(item)

    def _order_update(self, ticker: KiteTicker, data: dict[str, Any]) -> None:
        self.order_updates += 1
        try:
            self._on_order_update(data)
        except Exception:  # a listener's bug must not take the market feed down
            log.exception("kite feed: an order-update listener failed")
