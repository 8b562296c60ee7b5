"""`alpha-panda up` with paper and zerodha against `alpha-panda sim kite`: both trade, each
in its own stream; a dead simulator or an expired session halts zerodha and only zerodha."""

from __future__ import annotations

from pathlib import Path

from schemas.events import AuditEvent, OrderAccepted, OrderFilled, OrderSubmitted
from tests.conftest import NatsServer
from tests.e2e.conftest import connected, eventually
from tests.kite.kite_harness import tags_at_kite
from tests.kite.zerodha_up import actor_status, events, fills, up_both
from tests.ops.sim.conftest import RunningSim


async def test_both_brokers_fill_and_a_dead_kite_halts_only_zerodha(
    tmp_path: Path, fresh_nats: NatsServer, kite_sim: RunningSim
) -> None:
    # the mock feed: with Kite's ticker, a dead simulator would take the market data of
    # both brokers with it; what is tested here is the zerodha subtree's fault alone
    app = up_both(tmp_path / "run", fresh_nats.url, kite_sim, ALPHA_PANDA_FEED="mock")
    try:
        async with connected(fresh_nats.url) as bus:

            async def both_filled() -> bool:
                return await fills(bus, "paper") > 0 and await fills(bus, "zerodha") > 0

            await eventually(both_filled, "fills on PAPER and ZERODHA", timeout_s=90, app=app)
            # Kite first, then our stream: an order reaches Kite only after its
            # OrderSubmitted is stored, so every tag Kite holds is in the stream read after
            at_kite = tags_at_kite(kite_sim)
            zerodha = await events(bus, "ZERODHA")
            paper = await events(bus, "PAPER")
            assert not any(isinstance(e, OrderFilled) and e.tag for e in paper)
            tagged = [e for e in zerodha if isinstance(e, OrderSubmitted)]
            assert tagged and all(len(e.tag) == 20 for e in tagged)
            assert max(at_kite.values()) == 1  # every tag once
            assert set(at_kite) <= {e.tag for e in tagged}
            accepted = {e.tag for e in zerodha if isinstance(e, OrderAccepted)}
            assert accepted <= set(tags_at_kite(kite_sim))  # and what we accepted is at Kite

            kite_sim.process.terminate()
            kite_sim.process.wait(15)

            async def zerodha_halted() -> bool:
                risk = await actor_status(bus, "risk-zerodha")
                return bool(risk.get("pipeline", {}).get("trading_state") == "HALTED")

            await eventually(zerodha_halted, "risk-zerodha HALTED", timeout_s=60, app=app)
            execution = await actor_status(bus, "execution-zerodha")
            assert "Kite unreachable" in (execution["kite"]["halted_reason"] or "")

            async def audited() -> bool:  # the halt and its reason are in the audit stream
                return any(
                    isinstance(e, AuditEvent) and e.kind == "halt"
                    and e.actor == "execution:zerodha" and "Kite unreachable" in e.detail["reason"]
                    for e in await events(bus, "AUDIT")
                )  # fmt: skip

            await eventually(audited, "the halt in the audit stream", timeout_s=30, app=app)
            assert (await actor_status(bus, "risk-paper"))["pipeline"]["trading_state"] == "ACTIVE"
            before = await fills(bus, "paper")

            async def paper_still_fills() -> bool:
                return await fills(bus, "paper") > before + 3

            await eventually(paper_still_fills, "paper fills after the halt", timeout_s=60, app=app)
            assert execution["state"] == "running"
    finally:
        assert await app.stop() == 0, app.output()


async def test_an_expired_session_halts_zerodha_naming_the_login_and_paper_trades_on(
    tmp_path: Path, fresh_nats: NatsServer, kite_sim: RunningSim
) -> None:
    app = up_both(tmp_path / "run", fresh_nats.url, kite_sim)
    try:
        async with connected(fresh_nats.url) as bus:

            async def zerodha_filled() -> bool:
                return await fills(bus, "zerodha") > 0

            await eventually(zerodha_filled, "a zerodha fill", timeout_s=90, app=app)
            kite_sim.faults(expire_token=True)

            async def halted() -> bool:
                risk = await actor_status(bus, "risk-zerodha")
                return bool(risk.get("pipeline", {}).get("trading_state") == "HALTED")

            await eventually(halted, "risk-zerodha HALTED", timeout_s=60, app=app)
            kite = (await actor_status(bus, "execution-zerodha"))["kite"]
            assert "alpha-panda zerodha login" in kite["halted_reason"]
            assert kite_sim.env["KITE_ACCESS_TOKEN"] not in str(kite)
            before = await fills(bus, "paper")

            async def paper_fills() -> bool:
                return await fills(bus, "paper") > before + 3

            await eventually(paper_fills, "paper fills after the halt", timeout_s=60, app=app)
    finally:
        assert await app.stop() == 0, app.output()
    assert "Traceback" not in app.output(100_000)
