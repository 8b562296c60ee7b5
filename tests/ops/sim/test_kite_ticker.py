"""The official KiteTicker against the simulator's WebSocket: modes, heartbeats, order
updates, a stall and a dropped connection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from tests.ops.sim.conftest import RunningSim

PROBE = Path(__file__).with_name("ticker_probe.py")


def test_kite_ticker_gets_every_mode_order_updates_and_survives_stall_and_drop(
    kite_sim: RunningSim,
) -> None:
    env = kite_sim.env
    args = [env["KITE_ROOT"], env["KITE_WS_ROOT"], env["KITE_API_KEY"], env["KITE_ACCESS_TOKEN"]]
    run = subprocess.run(
        [sys.executable, str(PROBE), *args], capture_output=True, text=True, timeout=90
    )
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    modes = seen["modes"]
    assert modes["ltp"] == ["instrument_token", "last_price", "mode", "tradable"]
    assert "ohlc" in modes["quote"] and "depth" not in modes["quote"]
    assert "depth" in modes["full"] and seen["full_depth"] == [5, 5]
    assert seen["updates"][-1] == {"status": "COMPLETE", "tag": "probe"}
    assert {"order_id", "checksum", "filled_quantity", "unfilled_quantity"} <= set(
        seen["update_keys"]
    )
    assert seen["heartbeats"] >= 2
    assert seen["longest_gap_s"] >= 1.5  # silent: not even a heartbeat during the stall
    assert seen["connects"] == 2  # the client reconnected after the drop ...
    assert seen["ticks_after_reconnect"] > 0  # ... and its resubscription is served
    assert seen["reactor_stopped"] is True


def test_the_ticker_refuses_a_wrong_access_token_with_403(kite_sim: RunningSim) -> None:
    url = f"{kite_sim.env['KITE_WS_ROOT']}?api_key={kite_sim.env['KITE_API_KEY']}&access_token=x"
    with pytest.raises(InvalidStatus) as info:
        websockets.sync.client.connect(url, open_timeout=5)
    assert info.value.response.status_code == 403
