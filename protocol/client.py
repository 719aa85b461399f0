"""A minimal Kafka client for agent-to-agent work: one request to another agent, its answer.

Used to hand WAL batches to the agent that leads a partition now (DESIGN.md §5) and to
ask a group's coordinator about its group (REST group administration from any agent).
"""

from __future__ import annotations

import asyncio
import datetime
import io
import itertools
import struct
from typing import Any

from kio.schema.errors import ErrorCode
from kio.static.primitive import i16, i32

from coordinator.catalogue import Catalogue

from .build import build
from .codec import _reader, _writer, request_class, response_class

PRODUCE = 0
_correlation = itertools.count(1)


class ProduceFailed(RuntimeError):
    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(f"{code.name}: {message or ''}".rstrip(": "))
        self.code = code


async def call(
    host: str, port: int, api_key: int, api_version: int, body: dict[str, Any],
    *, timeout: float = 10.0,
) -> Any:
    """Send one request (its fields as a dict, see `build`) and return the decoded response."""
    cls: Any = request_class(api_key, api_version)
    assert cls is not None, f"kio has no request {api_key} v{api_version}"
    header_cls: Any = cls.__header_schema__
    correlation_id = next(_correlation) & 0x7FFFFFFF
    header_values: dict[str, Any] = {
        "request_api_key": i16(api_key), "request_api_version": i16(api_version),
        "correlation_id": i32(correlation_id), "client_id": "streamhouse-agent",
    }
    out = io.BytesIO()
    _writer(header_cls)(out, build(header_cls, header_values))
    _writer(cls)(out, build(cls, body))
    payload = out.getvalue()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(struct.pack(">i", len(payload)) + payload)
        await writer.drain()
        (size,) = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), timeout))
        frame = await asyncio.wait_for(reader.readexactly(size), timeout)
    finally:
        writer.close()
    response_cls: Any = response_class(api_key, api_version)
    _header, offset = _reader(response_cls.__header_schema__)(frame, 0)
    response, _size = _reader(response_cls)(frame, offset)
    return response


async def produce(
    host: str, port: int, topic: str, partition: int, records: bytes, *, acks: int = -1,
    timeout: float = 10.0,
) -> int:
    """Produce one record set (acks 1 or all: this needs an answer); returns its base offset."""
    if acks not in (1, -1):
        raise ValueError("forwarded produce requests wait for acks=1 or acks=all")
    response = await call(host, port, PRODUCE, 9, {
        "acks": acks, "timeout": datetime.timedelta(seconds=timeout),
        "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
    }, timeout=timeout)
    part = response.responses[0].partition_responses[0]
    if part.error_code != ErrorCode.none:
        raise ProduceFailed(part.error_code, part.error_message)
    return int(part.base_offset)


class NoLeader(RuntimeError):
    """No live agent holds the partition's lease right now."""


async def produce_to_leader(
    catalogue: Catalogue, topic: str, partition: int, records: bytes, *, acks: int = -1
) -> int:
    """Produce to whichever agent holds the partition's lease (agent-to-agent forwarding)."""
    t = await catalogue.get_topic(topic)
    state = await catalogue.get_partition(t.id, partition) if t else None
    holder = state.leader_agent if state else None
    agent = next((a for a in await catalogue.list_agents() if a.id == holder), None)
    if agent is None:
        raise NoLeader(f"{topic}-{partition} has no live leader")
    return await produce(agent.host, agent.port, topic, partition, records, acks=acks)
