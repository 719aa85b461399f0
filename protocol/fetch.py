"""Fetch: whole batches from the segment log up to the high watermark; long-polls on min_bytes.

Sessions are not kept (session id 0, full fetches); isolation levels are the
same because transactions are not offered (last stable offset = high watermark).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from storage.errors import StorageError
from storage.partition import PartitionLog

from .errors import error_code
from .metrics import REQUEST_ERRORS as request_errors

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {1: (4, 12)}


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    deadline = time.monotonic() + max(body.max_wait.total_seconds(), 0)
    min_bytes = max(body.min_bytes, 1)
    targets: list[tuple[dict[str, Any], PartitionLog | None, int, int]] = []
    responses = []
    for topic_req in body.topics:
        topic = await broker.logs.topic(topic_req.topic)
        partitions = []
        for preq in topic_req.partitions:
            entry: dict[str, Any] = {
                "partition_index": preq.partition,
                "error_code": 0,
                "high_watermark": -1,
                "last_stable_offset": -1,
                "log_start_offset": -1,
                "aborted_transactions": None,
                "preferred_read_replica": -1,
                "records": None,
            }
            partitions.append(entry)
            plog = None
            if topic is None:
                entry["error_code"] = ErrorCode.unknown_topic_or_partition
            else:
                try:
                    plog = await broker.logs.partition(topic, preq.partition)
                except StorageError as exc:
                    entry["error_code"] = error_code(exc)
            targets.append((entry, plog, preq.fetch_offset, preq.partition_max_bytes))
        responses.append({"topic": topic_req.topic, "partitions": partitions})

    while True:
        total = await _read_all(broker, targets, body.max_bytes)
        remaining = deadline - time.monotonic()
        if total >= min_bytes or remaining <= 0:
            break
        waiting = [p for e, p, _o, _m in targets if p is not None and e["error_code"] == 0]
        if not waiting:
            break
        await broker.logs.wait_for_data(waiting, remaining)
        if time.monotonic() >= deadline and not any(
            p.high_watermark > o for _e, p, o, _m in targets if p is not None
        ):
            break
    for entry, _p, _o, _m in targets:  # the error metric, from the flat list at hand
        if entry["error_code"]:
            request_errors.labels("fetch", ErrorCode(entry["error_code"]).name).inc()
    return {"throttle_time": 0, "error_code": 0, "session_id": 0, "responses": responses}


async def _read_all(
    broker: Broker,
    targets: list[tuple[dict[str, Any], PartitionLog | None, int, int]],
    max_bytes: int,
) -> int:
    total = 0
    for entry, plog, offset, partition_max in targets:
        if plog is None:
            continue
        entry["error_code"] = 0
        budget = min(partition_max, max(max_bytes - total, 0))
        try:
            if budget <= 0 and total > 0:
                result = None
            else:
                # Only the first partition with data may go over the limit with one batch.
                result = await broker.logs.read(
                    plog, offset, max(budget, 1), oversize_first=total == 0
                )
        except StorageError as exc:
            entry["error_code"] = error_code(exc)
            entry["high_watermark"] = plog.high_watermark
            entry["last_stable_offset"] = plog.high_watermark
            entry["log_start_offset"] = plog.log_start_offset
            entry["records"] = None
            continue
        entry["high_watermark"] = plog.high_watermark
        entry["last_stable_offset"] = plog.high_watermark
        entry["log_start_offset"] = plog.log_start_offset
        if result is not None:
            entry["records"] = result.records
            entry["aborted_transactions"] = []
            total += len(result.records)
    return total


__all__ = ["handle", "asyncio"]
