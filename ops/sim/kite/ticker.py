"""The simulator's ticker WebSocket: Kite's binary packets, heartbeats and order updates.

Clients connect with `?api_key=..&access_token=..` and send JSON: `{"a": "subscribe", "v":
[tokens]}`, `{"a": "unsubscribe", "v": [tokens]}`, `{"a": "mode", "v": [mode, [tokens]]}`
(a new subscription starts in quote mode, as Kite's). Each connection has a bounded outbox
drained by its own writer; a slow client loses ticks, never the simulator's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from actors.kite.packets import MODES, encode_frame, encode_packet
from ops.sim.kite.http import Session
from schemas.events import MarketTick

__all__ = ["TickerServer", "HEARTBEAT_S"]

log = logging.getLogger(__name__)
HEARTBEAT_S = 1.0
OUTBOX = 1000


class _Client:
    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.modes: dict[int, str] = {}
        self.outbox: asyncio.Queue[bytes | str] = asyncio.Queue(OUTBOX)
        self.dropped = 0
        self.stall_until = 0.0  # monotonic; a stall mutes the connections open at the time

    def offer(self, message: bytes | str) -> None:
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1


class TickerServer:
    """Serves ticks to subscribers; `stall` silences the connections open at the time (as a
    dead network path does: a new connection is served again)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.clients: set[_Client] = set()
        self._server: Server | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await serve(self._serve, host, port, process_request=self._check)
        sock = next(iter(self._server.sockets))
        bound: int = sock.getsockname()[1]
        return bound

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def publish(self, tick: MarketTick) -> None:
        for client in self.clients:
            mode = client.modes.get(tick.instrument_token)
            if mode is not None:
                client.offer(encode_frame([encode_packet(tick, mode)]))

    def order_update(self, data: dict[str, Any]) -> None:
        message = json.dumps({"type": "order", "id": "", "data": data})
        for client in self.clients:
            client.offer(message)

    def drop_all(self) -> None:
        """Cut every connection without a close frame, as a network failure does."""
        for client in list(self.clients):
            client.ws.transport.abort()

    def stall(self, seconds: float) -> None:
        for client in self.clients:
            client.stall_until = time.monotonic() + seconds

    def bad_packets(self, count: int) -> None:
        """Send every connection `count` frames each holding one packet of no known length."""
        for client in self.clients:
            for _ in range(count):
                client.offer(encode_frame([b"\x00\x06\x3a\x01" + b"\x00" * 6]))

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        key = query.get("api_key", [None])[0]
        token = query.get("access_token", [None])[0]
        if not self.session.valid(key, token):
            headers = Headers([("Content-Type", "text/plain")])
            body = b"Incorrect api_key or access_token\n"
            return Response(403, "Forbidden", headers, body)
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        client = _Client(ws)
        self.clients.add(client)
        writer = asyncio.create_task(self._write(client), name="sim-ticker-writer")
        try:
            async for message in ws:
                if isinstance(message, str):
                    self._command(client, message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _command(self, client: _Client, message: str) -> None:
        try:
            body = json.loads(message)
            action, value = body["a"], body["v"]
            if action == "subscribe":
                for token in value:
                    client.modes.setdefault(int(token), "quote")
            elif action == "unsubscribe":
                for token in value:
                    client.modes.pop(int(token), None)
            elif action == "mode":
                mode, tokens = value
                if mode not in MODES:
                    raise ValueError(f"unknown mode {mode!r}")
                for token in tokens:
                    client.modes[int(token)] = mode
        except (ValueError, KeyError, TypeError) as exc:
            client.offer(json.dumps({"type": "error", "data": f"bad message: {exc}"}))

    async def _write(self, client: _Client) -> None:
        while True:
            try:
                message = await asyncio.wait_for(client.outbox.get(), HEARTBEAT_S)
            except TimeoutError:
                message = b"\x00"  # Kite's one-byte heartbeat when there is nothing to say
            if (silent_s := client.stall_until - time.monotonic()) > 0:
                await asyncio.sleep(silent_s)  # a stall: the connection stays open, mute
            try:
                await client.ws.send(message)
            except ConnectionClosed:
                return
