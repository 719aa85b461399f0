"""Fetch over Kafka: `broker.fetch` reads whole batches up to the high watermark and
long-polls on min_bytes. Sessions are not kept (session id 0, full fetches); isolation
levels are the same because transactions are not offered (last stable offset = high
watermark)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker.fetch import FetchPartition

from .metrics import REQUEST_ERRORS as request_errors

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {1: (4, 12)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    wanted = [
        FetchPartition(topic=t.topic, partition=p.partition, offset=p.fetch_offset,
                       max_bytes=p.partition_max_bytes)
        for t in body.topics for p in t.partitions
    ]
    result = await kafka.broker.fetch.fetch(
        conn.context(request), wanted, max_bytes=body.max_bytes, min_bytes=body.min_bytes,
        max_wait_s=body.max_wait.total_seconds(),
    )
    reads = iter(result.reads)
    responses = []
    for t in body.topics:
        partitions = []
        for _p in t.partitions:
            read = next(reads)
            entry: dict[str, Any] = {
                "partition_index": read.partition,
                "error_code": 0,
                "high_watermark": read.high_watermark,
                "last_stable_offset": read.last_stable_offset,
                "log_start_offset": read.log_start_offset,
                "aborted_transactions": [] if read.records is not None else None,
                "preferred_read_replica": -1,
                # Never a null record set: librdkafka fails the whole response on one.
                "records": read.records if read.records is not None else b"",
            }
            if read.error is not None:
                entry["error_code"] = read.error.kafka_code
                request_errors.labels("fetch", read.error.kafka_code.name).inc()
            partitions.append(entry)
        responses.append({"topic": t.topic, "partitions": partitions})
    return {"throttle_time": result.throttle_ms, "error_code": 0, "session_id": 0,
            "responses": responses}
