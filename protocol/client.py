"""A minimal Kafka client for agent-to-agent work: one request to another agent, its answer.

It implements `broker.peers.Peers`: the broker hands WAL batches and REST records to the
agent that leads a partition now (DESIGN.md §5) and asks a group's coordinator about its
group (REST group administration from any agent) through it.
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

from broker import errors
from broker.credentials import sign_peer_request
from broker.groups import CommittedOffset, GroupDescription, MemberDescription
from broker.types import Agent

from .build import build
from .codec import _reader, _writer, request_class, response_class

PRODUCE, OFFSET_COMMIT, DESCRIBE_GROUPS, DELETE_GROUPS = 0, 8, 15, 42
_correlation = itertools.count(1)


class ProduceFailed(RuntimeError):
    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(f"{code.name}: {message or ''}".rstrip(": "))
        self.code = code


async def call(
    host: str, port: int, api_key: int, api_version: int, body: dict[str, Any],
    *, timeout: float = 10.0, signed: tuple[bytes, str] | None = None,
) -> Any:
    """Send one request (its fields as a dict, see `build`) and return the decoded response.
    `signed` (secret, organization): the request acts for that organization, signed."""
    cls: Any = request_class(api_key, api_version)
    assert cls is not None, f"kio has no request {api_key} v{api_version}"
    header_cls: Any = cls.__header_schema__
    correlation_id = next(_correlation) & 0x7FFFFFFF
    body_out = io.BytesIO()
    _writer(cls)(body_out, build(cls, body))
    body_bytes = body_out.getvalue()
    client_id = "streamhouse-agent"
    if signed is not None:
        client_id = sign_peer_request(signed[0], signed[1], api_key, correlation_id, body_bytes)
    header_values: dict[str, Any] = {
        "request_api_key": i16(api_key), "request_api_version": i16(api_version),
        "correlation_id": i32(correlation_id), "client_id": client_id,
    }
    out = io.BytesIO()
    _writer(header_cls)(out, build(header_cls, header_values))
    out.write(body_bytes)
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
    timeout: float = 10.0, signed: tuple[bytes, str] | None = None,
) -> int:
    """Produce one record set (acks 1 or all: this needs an answer); returns its base offset."""
    if acks not in (1, -1):
        raise ValueError("forwarded produce requests wait for acks=1 or acks=all")
    response = await call(host, port, PRODUCE, 9, {
        "acks": acks, "timeout": datetime.timedelta(seconds=timeout),
        "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
    }, timeout=timeout, signed=signed)
    part = response.responses[0].partition_responses[0]
    if part.error_code != ErrorCode.none:
        raise ProduceFailed(part.error_code, part.error_message)
    return int(part.base_offset)


class KafkaPeers:
    """broker.peers.Peers over the Kafka protocol: what this agent asks of another agent,
    each request signed for the organization it acts for (the cluster's secret, set once
    the catalogue is open)."""

    def __init__(self) -> None:
        self.secret: bytes | None = None

    def use_secret(self, secret: bytes) -> None:
        self.secret = secret

    def _signed(self, org_id: str) -> tuple[bytes, str]:
        if self.secret is None:
            raise errors.StorageUnavailable("this agent cannot reach other agents yet")
        return self.secret, org_id

    async def produce(
        self, agent: Agent, org_id: str, topic: str, partition: int, records: bytes, *, acks: int
    ) -> int:
        try:
            return await produce(agent.host, agent.port, topic, partition, records, acks=acks,
                                 signed=self._signed(org_id))
        except ProduceFailed as exc:
            raise errors.for_code(exc.code, str(exc)) from exc

    async def describe_group(
        self, agent: Agent, org_id: str, group_id: str
    ) -> GroupDescription | None:
        response = await call(agent.host, agent.port, DESCRIBE_GROUPS, 5, {"groups": [group_id]},
                              signed=self._signed(org_id))
        g = response.groups[0]
        if g.error_code != ErrorCode.none:
            raise errors.for_code(g.error_code, f"the coordinator answered {g.error_code.name}")
        if g.group_state == "Dead":
            return None
        return GroupDescription(
            group_id=group_id,
            state=g.group_state,
            protocol_type=g.protocol_type,
            protocol_name=g.protocol_data,
            members=[
                MemberDescription(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    metadata=bytes(m.member_metadata),
                    assignment=bytes(m.member_assignment),
                )
                for m in g.members
            ],
        )

    async def commit_offsets(
        self, agent: Agent, org_id: str, group_id: str, offsets: list[CommittedOffset]
    ) -> None:
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for o in offsets:
            by_topic.setdefault(o.topic, []).append({
                "partition_index": o.partition, "committed_offset": o.offset,
                "committed_leader_epoch": o.leader_epoch, "committed_metadata": o.metadata,
            })
        response = await call(agent.host, agent.port, OFFSET_COMMIT, 8, {
            "group_id": group_id, "generation_id_or_member_epoch": -1, "member_id": "",
            "group_instance_id": None,
            "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
        }, signed=self._signed(org_id))
        for t in response.topics:
            for p in t.partitions:
                if p.error_code != ErrorCode.none:
                    raise errors.GroupNotEmpty(
                        f"the offsets of {group_id!r} cannot change now: {p.error_code.name}")

    async def delete_group(self, agent: Agent, org_id: str, group_id: str) -> None:
        response = await call(agent.host, agent.port, DELETE_GROUPS, 2,
                              {"groups_names": [group_id]}, signed=self._signed(org_id))
        code = response.results[0].error_code
        if code == ErrorCode.non_empty_group:
            raise errors.GroupNotEmpty(f"consumer group {group_id!r} has members")
        if code == ErrorCode.group_id_not_found:
            raise errors.GroupIdNotFound(f"consumer group {group_id!r} does not exist")
        if code != ErrorCode.none:
            raise errors.for_code(code, f"the coordinator answered {code.name}")
