"""Run the official KiteTicker (twisted, in its own thread) against the simulator, in a child
process so twisted's one-shot global reactor never lives in the test process. Prints one
JSON object of what it observed."""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from typing import Any

import httpx
from kiteconnect import KiteConnect, KiteTicker
from twisted.internet import reactor

INFY = 408065
WAIT_S = 15.0


def main(root: str, ws_root: str, api_key: str, access_token: str) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "modes": {}, "heartbeats": 0, "updates": [], "connects": 0, "ticks_after_reconnect": 0
    }  # fmt: skip
    lock = threading.Condition()
    messages: list[float] = []
    ticker = KiteTicker(api_key, access_token, root=ws_root, reconnect_max_delay=5)

    def on_connect(ws: KiteTicker, response: object) -> None:
        with lock:
            seen["connects"] += 1
            lock.notify_all()

    def on_ticks(ws: KiteTicker, ticks: list[dict[str, Any]]) -> None:
        with lock:
            for tick in ticks:
                if tick["instrument_token"] == INFY:
                    seen["modes"].setdefault(tick["mode"], sorted(tick))
                    if tick["mode"] == "full":
                        seen["full_depth"] = [len(tick["depth"]["buy"]), len(tick["depth"]["sell"])]
                if seen["connects"] == 2:
                    seen["ticks_after_reconnect"] += 1
            lock.notify_all()

    def on_message(ws: KiteTicker, payload: bytes, is_binary: bool) -> None:
        with lock:
            messages.append(time.monotonic())
            if is_binary and len(payload) == 1:
                seen["heartbeats"] += 1

    def on_order_update(ws: KiteTicker, data: dict[str, Any]) -> None:
        with lock:
            seen["updates"].append({"status": data["status"], "tag": data["tag"]})
            seen["update_keys"] = sorted(data)
            lock.notify_all()

    ticker.on_connect, ticker.on_ticks = on_connect, on_ticks
    ticker.on_message, ticker.on_order_update = on_message, on_order_update

    def wait(what: str, check: Any) -> None:
        with lock:
            if not lock.wait_for(check, WAIT_S):
                raise SystemExit(f"timed out waiting for {what}: {seen}")

    ticker.connect(threaded=True)
    try:
        wait("connect", lambda: seen["connects"] == 1)
        for mode in ("ltp", "quote", "full"):
            reactor.callFromThread(ticker.subscribe, [INFY])
            reactor.callFromThread(ticker.set_mode, mode, [INFY])
            wait(f"a {mode} tick", lambda mode=mode: mode in seen["modes"])
        kite = KiteConnect(api_key, root=root)
        kite.set_access_token(access_token)
        kite.place_order(
            variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
            quantity=1, product="MIS", order_type="MARKET", market_protection=-1, tag="probe",
        )  # fmt: skip
        wait(
            "a COMPLETE order update",
            lambda: any(u["status"] == "COMPLETE" for u in seen["updates"]),
        )

        reactor.callFromThread(ticker.unsubscribe, [INFY])
        wait("heartbeats", lambda: seen["heartbeats"] >= 2)

        reactor.callFromThread(ticker.subscribe, [INFY])
        httpx.post(f"{root}/_sim/faults", json={"stall_ws": 2.0})
        stalled_at = time.monotonic()
        wait("the stall to end", lambda: bool(messages) and messages[-1] > stalled_at + 1.5)
        with lock:
            gaps = [b - a for a, b in itertools.pairwise(messages) if b > stalled_at]
        seen["longest_gap_s"] = max(gaps, default=0.0)

        httpx.post(f"{root}/_sim/faults", json={"drop_ws": True})
        wait("a reconnect", lambda: seen["connects"] == 2)
        wait("ticks after the reconnect", lambda: seen["ticks_after_reconnect"] > 0)
    finally:
        ticker.close()
        reactor.callFromThread(reactor.stop)  # type: ignore[misc]
        if ticker.websocket_thread is not None:
            ticker.websocket_thread.join(10)
        seen["reactor_stopped"] = not ticker.websocket_thread.is_alive()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5]), default=str))
