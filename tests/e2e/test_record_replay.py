"""Record what `alpha-panda up` replays: `data record` gives back the replayed ticks.

The replay feed publishes the shipped tick sample into MARKET; `alpha-panda data record`,
started first, writes the live stream to a CSV. That file must load as a tick file and
hold the same ticks (instrument, price, volume, exchange time) in the same order.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from actors.feed.replay import read_ticks_csv
from ops.backtest.data import load_market_data
from tests.conftest import NatsServer
from tests.e2e.conftest import alpha_panda_env, launch

SAMPLE = Path(__file__).parents[2] / "actors" / "data" / "sample_ticks.csv"
DATA = Path(__file__).parent / "data"


def test_recording_the_replay_feed_gives_back_its_ticks(
    fresh_nats: NatsServer, tmp_path: Path
) -> None:
    expected = [tick for _, tick in read_ticks_csv(SAMPLE)]
    settings: dict[str, Any] = {"nats_url": fresh_nats.url, "strategies": DATA / "pipeline_strategies.yaml",
                "feed": f"replay:{SAMPLE}", "extra": {"ALPHA_PANDA_REPLAY_SPEED": "0"}}  # fmt: skip
    out = tmp_path / "recorded.csv"
    env = alpha_panda_env(tmp_path, **settings)
    recorder = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "data", "record", "--out", str(out),
         "--count", str(len(expected)), "--duration", "60"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert recorder.stderr is not None
        # the recorder prints progress once it has subscribed: start the feed after that
        deadline = time.monotonic() + 20
        while "recorded" not in recorder.stderr.readline():
            assert recorder.poll() is None and time.monotonic() < deadline, "recorder not up"
        workdir = tmp_path / "up"
        workdir.mkdir()
        app = launch(workdir, **settings)
        try:
            recorder.wait(60)
        finally:
            app.kill()
        stdout = recorder.stdout.read() if recorder.stdout else ""
        assert recorder.returncode == 0, app.output()
        assert f"wrote {len(expected)} ticks" in stdout
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait(10)
    got = load_market_data(out).ticks
    key = [(t.instrument_token, t.last_price, t.volume_traded, t.exchange_timestamp_ns)
           for t in got]  # fmt: skip
    assert key == [(t.instrument_token, t.last_price, t.volume_traded, t.exchange_timestamp_ns)
                   for t in expected]  # fmt: skip
    assert got[0].depth == expected[0].depth  # the best level survives the round trip
