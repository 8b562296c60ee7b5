"""The Kite simulator assembled: HTTP API, ticker WebSocket and the price walk, one loop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import time
from collections.abc import Awaitable, Callable

import uvicorn

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from ops.sim.kite.exchange import Exchange, SimOrder
from ops.sim.kite.http import Session, build_app
from ops.sim.kite.limits import Faults
from ops.sim.kite.ticker import TickerServer

__all__ = ["KiteSim", "SimConfig"]


class SimConfig:
    """Where the simulator listens, its credentials and how fast its walk moves."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
        api_key: str = "kitesim",
        api_secret: str = "kitesim-secret",
        seed: int = 1,
        tick_interval_s: float = 0.02,
    ) -> None:
        self.host, self.port, self.ws_port = host, port, ws_port
        self.api_key, self.api_secret = api_key, api_secret
        self.seed, self.tick_interval_s = seed, tick_interval_s


class KiteSim:
    """Run with `await sim.serve(on_ready)`; `on_ready` gets the sim once both ports listen."""

    def __init__(self, config: SimConfig, faults: Faults | None = None) -> None:
        self.config = config
        self.book = InstrumentBook.default()
        self.session = Session(config.api_key, config.api_secret)
        self.faults = faults or Faults()
        self.ticker = TickerServer(self.session)
        self.exchange = Exchange(self.book, on_change=self._order_changed)
        self.feed = GbmFeed(self.book, config.seed, tick_interval_s=config.tick_interval_s)
        self.port = 0
        self.ws_port = 0
        self.scheduled: list[asyncio.TimerHandle] = []  # faults the command line timed

    @property
    def root(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_root(self) -> str:
        return f"ws://{self.config.host}:{self.ws_port}"

    def exports(self) -> list[str]:
        """The shell lines that point the app at this simulator."""
        return [
            f"export KITE_ROOT={self.root}",
            f"export KITE_WS_ROOT={self.ws_root}",
            f"export KITE_API_KEY={self.session.api_key}",
            f"export KITE_API_SECRET={self.session.api_secret}",
            f"export KITE_ACCESS_TOKEN={self.session.first_token}",
            f"export KITE_REQUEST_TOKEN={self.session.request_token}",
        ]

    def apply_ws_faults(self) -> None:
        if self.faults.drop_ws:
            self.faults.drop_ws = False
            self.ticker.drop_all()
        if self.faults.stall_ws:
            self.ticker.stall(self.faults.stall_ws)
            self.faults.stall_ws = 0.0
        if self.faults.bad_packet:
            self.ticker.bad_packets(self.faults.bad_packet)
            self.faults.bad_packet = 0
        if self.faults.expire_token:
            self.faults.expire_token = False
            self.session.expire()

    def _order_changed(self, order: SimOrder) -> None:
        view = order.view(self.exchange.clock())
        # As Kite's postbacks: sha256(order_id + order_timestamp + api_secret).
        signed = view["order_id"] + view["order_timestamp"] + self.session.api_secret
        extra = {"user_id": view["placed_by"], "unfilled_quantity": view["pending_quantity"]}
        checksum = hashlib.sha256(signed.encode()).hexdigest()
        self.ticker.order_update(view | extra | {"app_id": 0, "checksum": checksum})

    async def serve(self, on_ready: Callable[[KiteSim], Awaitable[None] | None]) -> None:
        for _ in range(len(self.book)):  # every instrument has a touch before the first order
            self._step()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = sock.getsockname()[1]
        app = build_app(self.exchange, self.session, self.faults, self.apply_ws_faults)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.ws_port = await self.ticker.start(self.config.host, self.config.ws_port)
        http = asyncio.create_task(server.serve(sockets=[sock]), name="sim-kite-http")
        walk = asyncio.create_task(self._walk(), name="sim-kite-walk")
        try:
            while not server.started:
                if http.done():
                    await http  # raises why the server could not start
                await asyncio.sleep(0.01)
            ready = on_ready(self)
            if ready is not None:
                await ready
            await asyncio.wait({http, walk}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            for handle in self.scheduled:
                handle.cancel()
            walk.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await walk
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(http, 5)
            await self.ticker.close()
            sock.close()

    def _step(self) -> None:
        tick = self.feed.next_tick(time.time_ns())
        self.exchange.on_tick(tick)
        self.ticker.publish(tick)

    async def _walk(self) -> None:
        interval = self.config.tick_interval_s
        while True:
            await asyncio.sleep(interval)
            self._step()
