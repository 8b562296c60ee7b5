"""The web child: an address already in use fails at once, not retriable, naming the
variable to change."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from starlette.applications import Starlette

from supervisors.embedded_nats import free_port
from supervisors.errors import is_retriable
from web.process import WebAddressInUse, WebServer


async def test_an_address_in_use_is_refused_naming_alpha_panda_web_addr() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        server = WebServer(Starlette(), "127.0.0.1", port)
        with pytest.raises(WebAddressInUse) as err:
            await server.run(lambda: None)
        assert "ALPHA_PANDA_WEB_ADDR" in str(err.value)
        assert not is_retriable(err.value)
    finally:
        taken.close()


async def test_it_serves_until_asked_to_stop() -> None:
    port = free_port()
    server = WebServer(Starlette(), "127.0.0.1", port)
    ready = asyncio.Event()
    task = asyncio.create_task(server.run(ready.set))
    async with asyncio.timeout(30):
        await ready.wait()
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"http://127.0.0.1:{port}/nothing")).status_code == 404
    assert server.status()["state"] == "running"
    server.request_stop()
    async with asyncio.timeout(30):
        await task
    assert server.status()["state"] == "stopped"
