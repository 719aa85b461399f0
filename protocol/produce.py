"""Produce over Kafka: each partition's record set to `broker.produce`, answered per acks
(DESIGN.md §4.4). acks=0 sends no response; acks=1 answers once the batch is in the WAL;
acks=all once its flush committed, or REQUEST_TIMED_OUT after the request's timeout (the
data stays buffered and becomes durable later)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors

from .metrics import REQUEST_ERRORS as request_errors

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {0: (3, 9)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any] | None:
    body = request.body
    result = await kafka.broker.produce.produce(
        conn.context(request),
        [(t.name, [(p.index, p.records) for p in t.partition_data]) for t in body.topic_data],
        acks=body.acks,
        timeout_s=body.timeout.total_seconds(),
        charged=True,  # by the connection as it read the request (KafkaListener.precharge)
    )
    if body.acks == 0:
        return None
    responses = []
    for t in result.topics:
        partitions = []
        for p in t.partitions:
            entry: dict[str, Any] = {
                "index": p.partition,
                "error_code": ErrorCode.none,
                "base_offset": p.base_offset,
                "log_start_offset": p.log_start_offset,
                "record_errors": [],
            }
            if p.log_append_time >= 0:
                entry["log_append_time"] = datetime.datetime.fromtimestamp(
                    p.log_append_time / 1000, datetime.UTC)
            if p.error is not None:
                _refused(entry, p.error)
            partitions.append(entry)
        responses.append({"name": t.name, "partition_responses": partitions})
    return {"responses": responses,
            "throttle_time": max(result.throttle_ms, request.throttle_ms)}


def _refused(entry: dict[str, Any], error: errors.BrokerError) -> None:
    entry["error_code"] = error.kafka_code
    entry["error_message"] = error.message or None
    if not isinstance(error, errors.RequestTimedOut):
        entry["base_offset"] = -1
    if isinstance(error, errors.InvalidRecord):
        entry["record_errors"] = [{"batch_index": error.batch_index,
                                   "batch_index_error_message": error.message}]
    request_errors.labels("produce", error.kafka_code.name).inc()
