"""The server partitions ticks among strategy shards: each instrument in exactly one shard."""

from __future__ import annotations

import asyncio

from nats.js import api as js_api

from ops.shards import SHARDS_STREAM, shard_filter, shards_stream_config
from schemas.names import MARKET_STREAM, tick_subject
from supervisors.bus import Bus
from tests.conftest import NatsServer

TOKENS = (256265, 260105, 738561, 5633, 1, 408065, 884737, 2953217, 341249, 3050241)


async def _subjects(bus: Bus, filt: str, count: int) -> dict[str, int]:
    sub = await bus.js.subscribe(
        filt,
        stream=SHARDS_STREAM,
        ordered_consumer=True,
        config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.ALL),
    )
    got: dict[str, int] = {}
    try:
        while len(got) < count:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except TimeoutError:
                break
            got[msg.subject.rsplit(".", 1)[1]] = msg.metadata.sequence.stream
    finally:
        await sub.unsubscribe()
    return got


async def test_every_instrument_goes_to_exactly_one_shard_with_markets_sequence(
    fresh_nats: NatsServer,
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    try:
        await bus.js.add_stream(
            js_api.StreamConfig(name=MARKET_STREAM.name, subjects=list(MARKET_STREAM.subjects))
        )
        await bus.js.add_stream(shards_stream_config())
        seqs = {}
        for token in TOKENS:
            ack = await bus.js.publish(tick_subject(token), b"{}")
            seqs[str(token)] = ack.seq
        async with asyncio.timeout(30):
            while (await bus.js.stream_info(SHARDS_STREAM)).state.last_seq < max(seqs.values()):
                await asyncio.sleep(0.05)
        for shards in (1, 2, 3, 8):
            owners: dict[str, int] = {}
            for shard in range(shards):
                got = await _subjects(bus, shard_filter(shard, shards), len(TOKENS))
                for name, seq in got.items():
                    assert name not in owners, f"{name} in shards {owners[name]} and {shard}"
                    assert seq == seqs[name]  # the mirror keeps MARKET's sequence
                    owners[name] = shard
            assert set(owners) == set(seqs), f"{shards} shards cover every instrument"
            if shards > 1:
                assert len(set(owners.values())) > 1, "the instruments are spread out"
    finally:
        await bus.close()
