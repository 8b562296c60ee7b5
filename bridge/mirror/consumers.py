"""The bridge's durable consumers, and why they are recreated at their ack floor.

The resume rule needs the messages of a partition to reach the bridge in sequence order
after a restart. JetStream redelivers an unacked message only when its ack wait expires,
and meanwhile hands out newer ones: a restarted bridge would produce those first, and the
older ones, arriving later with a lower sequence than the partition's last, would be
skipped as duplicates — a gap. So every time the bridge binds (a start, or a new epoch
after an error) it deletes the consumer and creates it again starting right after its ack
floor: every message not yet acked is then delivered again, in order, before anything
newer, and no pull request of an earlier epoch survives to take a delivery away. Messages
acked out of order past the floor come again too; they are in Kafka, so the resume rule
skips them. A recreated consumer numbers its deliveries from 1 again.

The same gap can open without a restart: a delivery lost on the wire (a reconnect, a slow
consumer drop) comes back only after its ack wait. Every delivery of a consumer carries the
next consumer sequence, so a jump in it reveals the loss, and the bridge treats it like a
produce error: drop everything, recreate at the floor.
"""

from __future__ import annotations

import logging

from nats.js import api as js_api
from nats.js.errors import NotFoundError

from schemas.names import STREAMS
from supervisors.bus import Bus, ConsumerSettings

__all__ = ["bind_consumer"]

log = logging.getLogger(__name__)


async def bind_consumer(bus: Bus, stream: str, durable: str, settings: ConsumerSettings) -> int:
    """Create the durable, or create it again right after its ack floor.

    Returns the ack floor; the consumer's first delivery is consumer sequence 1.
    """
    subjects = list(STREAMS[stream].subjects)
    try:
        info = await bus.js.consumer_info(stream, durable)
    except NotFoundError:
        info = None
    floor = 0
    if info is not None:
        floor = int(info.ack_floor.stream_seq or 0)
        delivered = int(info.delivered.stream_seq or 0)
        if delivered > floor:
            log.info(
                "bridge consumer %s/%s: delivered %d past ack floor %d; recreating it at %d",
                stream, durable, delivered, floor, floor + 1,
            )  # fmt: skip
        await bus.js.delete_consumer(stream, durable)
        config = js_api.ConsumerConfig(
            durable_name=durable,
            name=durable,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            ack_wait=settings.ack_wait_s,
            max_deliver=-1,
            max_ack_pending=settings.max_ack_pending,
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=floor + 1,
        )
        if len(subjects) == 1:  # the filter shape Bus.ensure_consumer uses
            config.filter_subject = subjects[0]
        else:
            config.filter_subjects = subjects
        await bus.js.add_consumer(stream, config=config)
    await bus.ensure_consumer(stream, durable, subjects, settings)
    return floor
