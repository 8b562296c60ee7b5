"""SIGKILL of `alpha-panda up` after Kite placed an order and before we heard back: after a
restart the tag is at Kite exactly once, and our stream (the ledger) holds the order with
its Kite id; every order at Kite is one of ours, once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from schemas.envelope import new_envelope
from schemas.events import (
    ControlCommand,
    OrderAccepted,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
)
from schemas.names import ControlVerb, control_subject
from tests.conftest import NatsServer
from tests.e2e.conftest import connected, eventually
from tests.kite.conftest import kite_sim_with
from tests.kite.kite_harness import tags_at_kite
from tests.kite.zerodha_up import events, up_both


async def test_a_kill_between_placement_and_answer_leaves_each_tag_at_kite_once(
    tmp_path: Path, fresh_nats: NatsServer
) -> None:
    # the first order stands at Kite at once and its answer comes only after 30 s
    with kite_sim_with("--timeout-after-place", "1", "--timeout-s", "30") as sim:
        first = up_both(tmp_path / "run", fresh_nats.url, sim)
        try:

            async def placed() -> bool:
                return bool(tags_at_kite(sim))

            await eventually(placed, "an order at Kite", timeout_s=90, app=first)
            (tag,) = tags_at_kite(sim)
            async with connected(fresh_nats.url) as bus:
                zerodha = await events(bus, "ZERODHA")
            assert any(isinstance(e, OrderSubmitted) and e.tag == tag for e in zerodha)
            assert not any(isinstance(e, OrderAccepted) and e.tag == tag for e in zerodha)
        finally:
            first.kill()  # SIGKILL: no stop, no snapshot, no ack of the signal
        assert first.proc.returncode == -9

        second = up_both(tmp_path / "run", fresh_nats.url, sim)
        try:
            async with connected(fresh_nats.url) as bus:

                async def adopted() -> bool:
                    return any(
                        isinstance(e, OrderFilled) and e.tag == tag
                        for e in await events(bus, "ZERODHA")
                    )

                await eventually(adopted, "the killed order filled in ZERODHA", timeout_s=90,
                                 app=second)  # fmt: skip
                # halt zerodha, so every order reaches its end before the books are compared
                halt = ControlCommand(verb=ControlVerb.HALT, broker="zerodha", reason="test")
                await bus.publish(control_subject(ControlVerb.HALT, "zerodha"),
                                  new_envelope(halt, source="test", broker="zerodha"))  # fmt: skip

                async def settled() -> bool:
                    stream = await events(bus, "ZERODHA")
                    ended = {e.client_order_id for e in stream
                             if isinstance(e, OrderFailed | OrderCancelled)
                             or (isinstance(e, OrderFilled) and e.final)}  # fmt: skip
                    submitted = {e.client_order_id for e in stream if isinstance(e, OrderSubmitted)}
                    return submitted <= ended

                await eventually(settled, "every zerodha order ended", timeout_s=60, app=second)
                stream = await events(bus, "ZERODHA")
        finally:
            assert await second.stop() == 0, second.output()
        at_kite = tags_at_kite(sim)

    assert at_kite[tag] == 1
    assert max(at_kite.values()) == 1, "a tag placed twice"
    submitted = Counter(e.tag for e in stream if isinstance(e, OrderSubmitted))
    accepted = {e.tag: e.broker_order_id for e in stream if isinstance(e, OrderAccepted)}
    refused = {e.tag for e in stream if isinstance(e, OrderFailed)}
    assert set(at_kite) <= set(submitted), "an order at Kite that our ledger lacks"
    assert set(at_kite) == set(accepted), "accepted and at Kite are the same orders"
    assert set(submitted) == set(at_kite) | refused, "an order neither at Kite nor failed"
    assert accepted.get(tag)  # the Kite id that goes with the tag
    fill_ids = [e.fill_id for e in stream if isinstance(e, OrderFilled)]
    assert len(fill_ids) == len(set(fill_ids)), "a fill twice"
