"""Produce and consume over HTTP, on the same segment log as the Kafka port.

REST produce builds one RecordBatch per partition per request (the Kafka path's
unit of work); X-Ack-Mode picks the wait: none, buffered (the WAL, as acks=1; the
default, as in the seeds' ack modes), durable (the flush commit, as acks=all).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import ValidationError

from broker import errors
from broker.browse import RecordFilter, format_cursor, parse_cursor
from broker.context import RequestContext
from broker.records import Record, build_batch
from broker.serde import Decoded
from broker.service import Broker

from . import models
from .deps import broker, context
from .errors import ApiError, invalid_body
from .partitioner import partition_for

router = APIRouter(prefix="/api/v1", tags=["records"])

ACKS = {"none": 0, "buffered": 1, "durable": -1}
Row = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int]  # build_batch's


def _bytes(value: object, encoding: str, i: int, field: str, header: str | None = None) -> bytes:
    """A record's key, value or header value as bytes; `i`, `field` and `header` (a header's
    key) name it in errors, formatted only then: this runs for every record of a request."""
    if encoding == "text" and isinstance(value, str):
        return value.encode()
    if encoding == "base64":
        what = field if header is None else f"header {header!r}"
        if not isinstance(value, str):
            raise ApiError(422, "invalid_record",
                           f"record {i} {what} with encoding base64 must be a string")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "invalid_record", f"record {i} {what} is not valid base64") from None
    if encoding == "json" or not isinstance(value, str):
        return json.dumps(value, separators=(",", ":")).encode()
    return value.encode()


def _header_bytes(h: models.ProduceHeader, i: int) -> tuple[str, bytes | None]:
    value = h.get("value")
    if value is None:
        return h["key"], None
    return h["key"], _bytes(value, h.get("encoding", "text"), i, "header", h["key"])


_PRODUCE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProduceRequest"}}},
}


async def _produce_body(request: Request) -> models.ProduceRequest:
    """The body, parsed and validated as TypedDicts in one pass by pydantic-core (see
    models.ProduceRequest); its JSON parser keeps integers of any size exact."""
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type",
                       f"send the records as JSON (Content-Type: application/json), not {media!r}")
    raw = await request.body()
    try:
        return models.PRODUCE_REQUEST.validate_json(raw)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise ApiError(422, "invalid_request",
                           f"the body is not valid JSON: {errors[0]['msg']}") from None
        raise invalid_body(e) from None


@router.post(
    "/produce",
    response_model=models.ProduceResponse,
    responses={
        404: {"model": models.Error},
        413: {"model": models.Error},
        415: {"model": models.Error},
        422: {"model": models.Error},
        503: {"model": models.Error},
    },
    openapi_extra={"requestBody": _PRODUCE_BODY},
)
async def produce(
    request: Request,
    ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
    x_ack_mode: Literal["none", "buffered", "durable"] = Header(default="buffered"),
) -> Response:
    """Write one record or a batch: body `ProduceRequest` (schema below)."""
    body = await _produce_body(request)
    topic = await b.produce.topic_for(ctx, body["topic"])
    now = int(time.time() * 1000)
    count = topic.partition_count
    by_partition: dict[int, tuple[list[int], list[Row]]] = {}  # record indexes and rows
    by_key: dict[bytes, int] = {}
    placed: list[int] = []  # each record's partition
    latest: dict[str, int] = {}  # subjects' latest schema ids, looked up once a request
    for i, rec in enumerate(body["records"]):
        given_key = rec.get("key")
        key = None if given_key is None else _bytes(given_key, rec.get("key_encoding", "text"), i, "key")
        partition = rec.get("partition")
        if partition is None:
            if key is None:
                partition = partition_for(None, count)
            else:  # keys repeat within a request: hash each once
                partition = by_key.get(key, -1)
                if partition < 0:
                    partition = by_key[key] = partition_for(key, count)
        elif partition >= count:
            raise errors.UnknownPartition(f"record {i}: {topic.name} has no partition {partition}")
        given = rec.get("value")
        value: bytes | None
        if rec.get("value_schema_id") is not None or rec.get("value_subject"):
            try:
                value = await b.serde.encode(ctx, given, schema_id=rec.get("value_schema_id"),
                                             subject=rec.get("value_subject"), latest=latest)
            except errors.InvalidRequest as exc:
                raise errors.InvalidRequest(f"record {i}: {exc.message}") from None
        else:
            value = None if given is None else _bytes(given, rec.get("encoding", "text"), i,
                                                      "value")
        timestamp = rec.get("timestamp")
        row = (
            key,
            value,
            [_header_bytes(h, i) for h in rec["headers"]] if "headers" in rec else [],
            now if timestamp is None else timestamp,
        )
        group = by_partition.get(partition)
        if group is None:
            group = by_partition[partition] = ([], [])
        group[0].append(i)
        group[1].append(row)
        placed.append(partition)
    partitions = list(by_partition)
    # All or nothing as far as this agent can tell before writing, and partitions led by
    # another agent handed to it: the REST door's options (broker/produce.py says why).
    result = await b.produce.produce(
        ctx, [(topic.name, [(p, build_batch(by_partition[p][1])) for p in partitions])],
        acks=ACKS[x_ack_mode], timeout_s=30, forward=True, all_or_nothing=True,
        refuse_over_quota=True,
    )
    if (error := result.first_error()) is not None:
        raise error
    offsets = [0] * len(placed)
    for p, produced in zip(partitions, result.topics[0].partitions, strict=True):
        for n, i in enumerate(by_partition[p][0], produced.base_offset):
            offsets[i] = n
    # Serialized directly (the shape of models.ProduceResponse, which documents it): a
    # model per record, validated again on the way out, cost more than the produce itself.
    return Response(orjson.dumps({
        "topic": topic.name,
        "ack_mode": x_ack_mode,
        "records": [{"partition": p, "offset": o} for p, o in zip(placed, offsets, strict=True)],
    }), media_type="application/json")


def _text(data: bytes | None) -> tuple[str | None, Literal["text", "base64"]]:
    if data is None:
        return None, "text"
    try:
        return data.decode(), "text"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


def _header(key: str, value: bytes | None) -> models.Header:
    text, encoding = _text(value)
    return models.Header(key=key, value=text, encoding=encoding)


@router.get(
    "/consume",
    response_model=models.ConsumeResponse,
    responses={404: {"model": models.Error}, 416: {"model": models.Error}},
)
async def consume(
    topic: str,
    partition: int = Query(default=0, ge=0),
    offset: int | None = Query(default=None, ge=0),
    timestamp: int | None = Query(
        default=None, ge=0, description="start at the first record at or after this time (ms)"
    ),
    max_records: int = Query(default=100, ge=1, le=1000),
    ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.ConsumeResponse:
    read = await b.fetch.read_records(ctx, topic, partition, offset=offset, timestamp=timestamp,
                                      max_records=max_records)
    return models.ConsumeResponse(
        topic=topic,
        partition=partition,
        next_offset=read.next_offset,
        high_watermark=read.high_watermark,
        records=[_consumed(partition, r) for r in read.records],
    )


def _decoded(d: Decoded | None) -> models.Decoded | None:
    if d is None:
        return None
    return models.Decoded(schema_id=d.schema_id, schema_type=d.schema_type, value=d.value,
                          error=d.error)


def _consumed(partition: int, r: Record) -> models.ConsumedRecord:
    key, kenc = _text(r.key)
    value, venc = _text(r.value)
    return models.ConsumedRecord(
        partition=partition, offset=r.offset, timestamp=r.timestamp, key=key,
        key_encoding=kenc, value=value, value_encoding=venc,
        headers=[_header(k, v) for k, v in r.headers],
    )


@router.get(
    "/topics/{name}/messages",
    response_model=models.MessagePage,
    responses={404: {"model": models.Error}, 422: {"model": models.Error},
               429: {"model": models.Error}},
)
async def messages(
    name: str,
    partitions: str | None = Query(default=None, description="comma-separated; default all"),
    position: Literal["earliest", "latest", "offset", "timestamp"] = Query(
        default="earliest", description="where to start without a cursor; latest: the newest"
        " page"),
    offset: int | None = Query(default=None, ge=0, description="for position=offset"),
    timestamp: int | None = Query(default=None, ge=0, description="ms, for position=timestamp"),
    cursor: str | None = Query(
        default=None, description="a page's `after` (with direction=forward) or `before`"
        " (direction=backward): partition:offset,..."),
    direction: Literal["forward", "backward"] = "forward",
    limit: int = Query(default=50, ge=1, le=500),
    key: str | None = Query(default=None, description="the key contains this text"),
    value: str | None = Query(default=None, description="the value contains this text"),
    header: str | None = Query(default=None, description="a header: name, or name=value"),
    since: int | None = Query(default=None, ge=0, description="timestamp at or after (ms)"),
    until: int | None = Query(default=None, ge=0, description="timestamp at or before (ms)"),
    max_scan: int = Query(default=20_000, ge=1, le=200_000,
                          description="records read at most looking for matches"),
    decode: bool = Query(default=False, description="read keys and values in the schema"
                         " registry's wire format with their schemas (key_decoded,"
                         " value_decoded)"),
    ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.MessagePage:
    """A page of the topic's records across partitions, by timestamp, with cursors to page
    forward and back deterministically (the console's message browser)."""
    try:
        chosen = [int(p) for p in partitions.split(",") if p.strip()] if partitions else None
    except ValueError:
        raise errors.InvalidRequest(f"partitions {partitions!r} is not a list of numbers"
                                    ) from None
    page = await b.fetch.browse(
        ctx, name, partitions=chosen, start=parse_cursor(cursor) if cursor else None,
        position=position, offset=offset, timestamp=timestamp,
        forward=direction == "forward", limit=limit, max_scan=max_scan,
        where=RecordFilter.parse(key=key, value=value, header=header, since=since,
                                 until=until))
    records = [_consumed(p, r) for p, r in page.records]
    if decode:
        for out, (_p, r) in zip(records, page.records, strict=True):
            out.key_decoded = _decoded(await b.serde.decode(ctx, r.key))
            out.value_decoded = _decoded(await b.serde.decode(ctx, r.value))
    return models.MessagePage(
        topic=name, records=records,
        before=format_cursor(page.before), after=format_cursor(page.after),
        has_older=page.has_older, has_newer=page.has_newer, scanned=page.scanned,
        low_watermarks={str(p): o for p, o in page.low.items()},
        high_watermarks={str(p): o for p, o in page.high.items()})
