"""Produce: validate and append each partition's record set; answer per acks (DESIGN.md §4.4).

acks=0 sends no response; acks=1 answers once the batch is in the WAL; acks=all
once the flush holding it has committed, or REQUEST_TIMED_OUT after the
request's timeout (the data stays buffered and becomes durable later).
"""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import TYPE_CHECKING, Any

import structlog
from kio.schema.errors import ErrorCode

from storage import metrics
from storage.errors import BufferFull, StorageError

from .errors import error_code
from .metrics import REQUEST_ERRORS as request_errors

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {0: (3, 9)}

# How long a producer is asked to hold off when the write buffer is full (the store is behind).
BACKPRESSURE_THROTTLE_MS = 500

log = structlog.get_logger("streamhouse.produce")


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any] | None:
    started = time.perf_counter()
    body = request.body
    acks = body.acks
    timeout = max(body.timeout.total_seconds(), 0.001)
    waits: list[tuple[dict[str, Any], asyncio.Future[None] | None]] = []
    responses = []
    if acks not in (0, 1, -1):
        return {
            "throttle_time": 0,
            "responses": [
                {
                    "name": t.name,
                    "partition_responses": [
                        {
                            "index": p.index,
                            "error_code": ErrorCode.invalid_required_acks,
                            "base_offset": -1,
                            "error_message": f"acks must be 0, 1 or -1 (all), got {acks}",
                        }
                        for p in t.partition_data
                    ],
                }
                for t in body.topic_data
            ],
        }
    throttle_ms = 0
    for topic_data in body.topic_data:
        topic = await broker.topic_or_autocreate(topic_data.name)
        partition_responses = []
        for pdata in topic_data.partition_data:
            entry: dict[str, Any] = {
                "index": pdata.index,
                "error_code": 0,
                "base_offset": -1,
                "log_start_offset": -1,
                "record_errors": [],
            }
            partition_responses.append(entry)
            if topic is None:
                entry["error_code"] = ErrorCode.unknown_topic_or_partition
                continue
            if not pdata.records:
                entry["error_code"] = ErrorCode.corrupt_message
                entry["error_message"] = "empty record set"
                continue
            refusal = await broker.schema_validator.check(topic.name, topic.config, pdata.records)
            if refusal is not None:
                entry["error_code"] = ErrorCode.invalid_record
                entry["error_message"] = f"schema validation failed: {refusal}"
                entry["record_errors"] = [{"batch_index": _index_of(refusal),
                                           "batch_index_error_message": refusal}]
                log.info("produce_refused", peer=conn.peer, topic=topic.name,
                         partition=pdata.index, error="invalid_record", reason=refusal)
                continue
            try:
                plog = await broker.logs.partition(topic, pdata.index)
                result = broker.logs.append(plog, pdata.records, acks=acks)
            except StorageError as exc:
                entry["error_code"] = error_code(exc)
                entry["error_message"] = str(exc)
                if isinstance(exc, BufferFull):
                    # Backpressure: the client also waits before its next request.
                    throttle_ms = BACKPRESSURE_THROTTLE_MS
                if entry["error_code"] != ErrorCode.not_leader_or_follower:
                    log.info(
                        "produce_refused",
                        peer=conn.peer,
                        topic=topic.name,
                        partition=pdata.index,
                        error=entry["error_code"].name,
                        reason=str(exc),
                    )
                continue
            entry["base_offset"] = result.base_offset
            entry["log_start_offset"] = result.log_start_offset
            if result.log_append_time >= 0:
                entry["log_append_time"] = datetime.datetime.fromtimestamp(
                    result.log_append_time / 1000, datetime.UTC
                )
            if acks == -1:
                waits.append((entry, result.durable))
            elif acks == 1:
                waits.append((entry, result.logged))
        responses.append({"name": topic_data.name, "partition_responses": partition_responses})
    if acks == 0:
        metrics.PRODUCER_LATENCY.labels("0").observe(time.perf_counter() - started)
        return None
    pending = [f for _e, f in waits if f is not None and not f.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    for entry, fut in waits:
        if fut is None:
            continue
        if not fut.done():
            entry["error_code"] = ErrorCode.request_timed_out
            entry["error_message"] = "the batch is buffered but not yet durable"
        elif (failure := fut.exception()) is not None:
            entry["error_code"] = error_code(failure)
            entry["error_message"] = str(failure)
    for t in responses:
        for entry in t["partition_responses"]:
            if entry["error_code"] != ErrorCode.none:
                request_errors.labels("produce", ErrorCode(entry["error_code"]).name).inc()
    metrics.PRODUCER_LATENCY.labels(str(acks)).observe(time.perf_counter() - started)
    return {"responses": responses, "throttle_time": throttle_ms}


def _index_of(refusal: str) -> int:
    """The record index a validation refusal names ("record 3: ...")."""
    head = refusal.split(":", 1)[0]
    return int(head.removeprefix("record ")) if head.startswith("record ") else 0
