"""`alpha-panda up` with paper and zerodha against a running simulator, and what tests read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.envelope import decode
from schemas.events import Event
from supervisors.bus import Bus
from tests.e2e.conftest import AlphaPanda, find_actor, launch, status, subject_counts
from tests.ops.sim.conftest import RunningSim

STRATEGIES = """
- id: momentum-banks
  type: momentum
  instruments: [HDFCBANK, ICICIBANK, SBIN, AXISBANK, KOTAKBANK]
  brokers: [paper, zerodha]
  params: {fast_window: 3, slow_window: 8, lots: 10, allow_short: true}
"""
KITE_VARS = ("KITE_ROOT", "KITE_WS_ROOT", "KITE_API_KEY", "KITE_API_SECRET", "KITE_ACCESS_TOKEN")


def up_both(workdir: Path, nats_url: str, sim: RunningSim, **extra: str) -> AlphaPanda:
    workdir.mkdir(parents=True, exist_ok=True)
    strategies = workdir / "strategies.yaml"
    strategies.write_text(STRATEGIES)
    env = {k: sim.env[k] for k in KITE_VARS} | {"ALPHA_PANDA_BROKERS": "paper,zerodha"} | extra
    return launch(workdir, nats_url=nats_url, strategies=strategies, extra=env)


async def fills(bus: Bus, broker: str) -> int:
    counts = await subject_counts(bus, broker.upper())
    return counts.get(f"{broker}.orders.filled", 0)


async def actor_status(bus: Bus, actor: str) -> dict[str, Any]:
    """One actor's node in `alpha.status` (its figures inline), {} while it is not up."""
    body = await status(bus)
    if body is None:
        return {}
    try:
        return find_actor(body["tree"], actor)
    except KeyError:
        return {}


async def events(bus: Bus, stream: str) -> list[Event]:
    return [decode(m.data).data async for m in bus.replay(stream, [">"], 1)]
