"""ListOffsets over Kafka: earliest (-2), latest (-1), max timestamp (-3), or by timestamp."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {2: (1, 7)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    b = kafka.broker
    topics = []
    for treq in request.body.topics:
        denied: errors.BrokerError | None = None
        topic = None
        try:
            topic = await b.topics.get(ctx, treq.name)
        except errors.NotAuthorized as exc:
            denied = exc
        partitions = []
        for preq in treq.partitions:
            entry: dict[str, Any] = {"partition_index": preq.partition_index, "error_code": 0,
                                     "timestamp": -1, "offset": -1, "leader_epoch": -1}
            partitions.append(entry)
            if denied is not None:
                entry["error_code"] = denied.kafka_code
                continue
            if topic is None:
                entry["error_code"] = ErrorCode.unknown_topic_or_partition
                continue
            try:
                found = await b.fetch.list_offset(ctx, topic, preq.partition_index, preq.timestamp)
            except errors.BrokerError as exc:
                entry["error_code"] = exc.kafka_code
                continue
            entry.update(offset=found.offset, timestamp=found.timestamp,
                         leader_epoch=found.leader_epoch)
        topics.append({"name": treq.name, "partitions": partitions})
    return {"throttle_time": 0, "topics": topics}
