"""ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or by timestamp."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from storage.errors import StorageError

from .errors import error_code

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {2: (1, 7)}

LATEST, EARLIEST, MAX_TIMESTAMP = -1, -2, -3


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    topics = []
    for treq in request.body.topics:
        topic = await broker.logs.topic(treq.name)
        partitions = []
        for preq in treq.partitions:
            entry: dict[str, Any] = {
                "partition_index": preq.partition_index,
                "error_code": 0,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": -1,
            }
            partitions.append(entry)
            if topic is None:
                entry["error_code"] = ErrorCode.unknown_topic_or_partition
                continue
            try:
                plog = await broker.logs.partition(topic, preq.partition_index)
                await broker.logs.refresh(plog)
                entry["leader_epoch"] = plog.leader_epoch
                ts = preq.timestamp
                if ts == LATEST:
                    entry["offset"] = plog.high_watermark
                elif ts == EARLIEST:
                    entry["offset"] = plog.log_start_offset
                elif ts == MAX_TIMESTAMP:
                    (
                        entry["offset"],
                        entry["timestamp"],
                    ) = await broker.logs.offset_for_max_timestamp(plog)
                elif ts < 0:
                    entry["error_code"] = ErrorCode.invalid_request
                else:
                    offset, found_ts = await broker.logs.offset_for_timestamp(plog, ts)
                    entry["offset"], entry["timestamp"] = offset, found_ts
            except StorageError as exc:
                entry["error_code"] = error_code(exc)
        topics.append({"name": treq.name, "partitions": partitions})
    return {"throttle_time": 0, "topics": topics}
