"""A minimal Kafka client for agent-to-agent work: produce record batches to a partition's leader.

Used to hand WAL batches to the agent that leads a partition now (DESIGN.md §5).
"""

from __future__ import annotations

import asyncio
import datetime
import io
import struct

from kio.schema.errors import ErrorCode
from kio.schema.produce.v9.request import ProduceRequest
from kio.schema.produce.v9.response import ProduceResponse
from kio.schema.request_header.v2.header import RequestHeader
from kio.schema.response_header.v1.header import ResponseHeader
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from .build import build


class ProduceFailed(RuntimeError):
    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(f"{code.name}: {message or ''}".rstrip(": "))
        self.code = code


async def produce(
    host: str, port: int, topic: str, partition: int, records: bytes, *, timeout: float = 10.0
) -> int:
    """Produce one record set with acks=all; returns its base offset."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        out = io.BytesIO()
        entity_writer(RequestHeader)(out, RequestHeader(
            request_api_key=i16(0), request_api_version=i16(9), correlation_id=i32(1),
            client_id="streamhouse-agent"))
        entity_writer(ProduceRequest)(out, build(ProduceRequest, {
            "acks": -1, "timeout": datetime.timedelta(seconds=timeout),
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
        }))
        payload = out.getvalue()
        writer.write(struct.pack(">i", len(payload)) + payload)
        await writer.drain()
        (size,) = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), timeout))
        frame = await asyncio.wait_for(reader.readexactly(size), timeout)
    finally:
        writer.close()
    _header, offset = entity_reader(ResponseHeader)(frame, 0)
    response, _size = entity_reader(ProduceResponse)(frame, offset)
    part = response.responses[0].partition_responses[0]
    if part.error_code != ErrorCode.none:
        raise ProduceFailed(part.error_code, part.error_message)
    return int(part.base_offset)
