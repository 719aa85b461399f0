"""Consumer-group APIs over Kafka: FindCoordinator, Join/Sync/Heartbeat/LeaveGroup, offsets,
group admin. The rules are `broker.groups`'; this module maps requests onto it and its
verdicts onto Kafka's responses (NOT_COORDINATOR per group where a request names several)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors
from broker.groups import OffsetToCommit, code

from .cluster import address

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

FIND_COORDINATOR, JOIN, HEARTBEAT, LEAVE, SYNC = 10, 11, 12, 13, 14
OFFSET_COMMIT, OFFSET_FETCH, DESCRIBE, LIST, DELETE, OFFSET_DELETE = 8, 9, 15, 16, 42, 47

VERSIONS = {
    FIND_COORDINATOR: (0, 4),
    JOIN: (0, 7),
    SYNC: (0, 5),
    HEARTBEAT: (0, 4),
    LEAVE: (0, 5),
    OFFSET_COMMIT: (2, 8),
    OFFSET_FETCH: (1, 8),
    LIST: (0, 4),
    DESCRIBE: (0, 5),
    DELETE: (0, 2),
    OFFSET_DELETE: (0, 0),
}

UNKNOWN_OPERATIONS = -2147483648


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    try:
        return await _HANDLERS[request.api_key](kafka, request, conn)
    except errors.NotCoordinator:
        return _not_coordinator(request)


def _not_coordinator(request: Request) -> dict[str, Any]:
    if request.api_key == OFFSET_DELETE:
        return {"throttle_time": 0, "error_code": ErrorCode.not_coordinator, "topics": []}
    if request.api_key == OFFSET_COMMIT:
        return {"throttle_time": 0, "topics": [
            {"name": t.name, "partitions": [
                {"partition_index": p.partition_index, "error_code": ErrorCode.not_coordinator}
                for p in t.partitions]}
            for t in request.body.topics]}
    if request.api_key == OFFSET_FETCH:
        # v1 has no top-level error code: the partitions asked for carry it.
        topics = [{"name": t.name, "partitions": [
            {"partition_index": p, "committed_offset": -1, "committed_leader_epoch": -1,
             "metadata": "", "error_code": ErrorCode.not_coordinator}
            for p in t.partition_indexes]} for t in (request.body.topics or [])]
        return {"throttle_time": 0, "topics": topics, "error_code": ErrorCode.not_coordinator}
    if request.api_key == JOIN:
        return {"throttle_time": 0, "error_code": ErrorCode.not_coordinator, "generation_id": -1,
                "members": []}
    return {"throttle_time": 0, "error_code": ErrorCode.not_coordinator}


async def find_coordinator(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    body = request.body
    keys = [body.key] if request.api_version < 4 else list(body.coordinator_keys or ())
    entries = []
    for k in keys:
        entry: dict[str, Any] = {"key": k, "error_code": 0, "error_message": None}
        try:
            agent = await kafka.broker.groups.find_coordinator(ctx, k)
            host, port = address(agent, conn.protocol)
            entry.update(node_id=agent.broker_id, host=host, port=port)
        except errors.BrokerError as exc:
            entry.update(node_id=-1, host="", port=-1, error_code=exc.kafka_code,
                         error_message=exc.message)
        entries.append(entry)
    if request.api_version < 4:
        one = entries[0]
        del one["key"]  # v0-3 answer the one key asked, without naming it
        return {"throttle_time": 0, **one}
    return {"throttle_time": 0, "coordinators": entries}


async def join_group(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    session_ms = int(body.session_timeout.total_seconds() * 1000)
    rebalance = getattr(body, "rebalance_timeout", None)
    rebalance_ms = int(rebalance.total_seconds() * 1000) if rebalance is not None else session_ms
    result = await kafka.broker.groups.join(
        conn.context(request),
        body.group_id,
        body.member_id or "",
        group_instance_id=getattr(body, "group_instance_id", None),
        protocol_type=body.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in body.protocols],
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=rebalance_ms,
        require_known_member_id=request.api_version >= 4,
    )
    return {
        "throttle_time": 0,
        "error_code": code(result.error),
        "generation_id": result.generation_id,
        "protocol_type": result.protocol_type,
        "protocol_name": result.protocol_name or ("" if request.api_version < 7 else None),
        "leader": result.leader,
        "member_id": result.member_id,
        "skip_assignment": result.skip_assignment,
        "members": [
            {"member_id": m, "group_instance_id": i, "metadata": meta}
            for m, i, meta in result.members
        ],
    }


async def sync_group(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    result = await kafka.broker.groups.sync(
        conn.context(request),
        body.group_id,
        body.generation_id,
        body.member_id,
        getattr(body, "group_instance_id", None),
        {a.member_id: bytes(a.assignment) for a in body.assignments},
    )
    return {
        "throttle_time": 0,
        "error_code": code(result.error),
        "protocol_type": result.protocol_type,
        "protocol_name": result.protocol_name,
        "assignment": result.assignment,
    }


async def heartbeat(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    error = await kafka.broker.groups.heartbeat(
        conn.context(request), body.group_id, body.generation_id, body.member_id,
        getattr(body, "group_instance_id", None),
    )
    return {"throttle_time": 0, "error_code": code(error)}


async def leave_group(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    leaving: list[tuple[str, str | None]]
    if request.api_version < 3:
        leaving = [(body.member_id, None)]
    else:
        leaving = [(m.member_id, m.group_instance_id) for m in body.members]
    error, per_member = await kafka.broker.groups.leave(conn.context(request), body.group_id,
                                                        leaving)
    if request.api_version < 3:
        return {"throttle_time": 0, "error_code": code(per_member[0])}
    return {
        "throttle_time": 0,
        "error_code": code(error),
        "members": [
            {"member_id": m, "group_instance_id": i, "error_code": code(e)}
            for (m, i), e in zip(leaving, per_member, strict=True)
        ],
    }


async def offset_commit(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    offsets = [
        OffsetToCommit(topic=t.name, partition=p.partition_index, offset=p.committed_offset,
                       leader_epoch=getattr(p, "committed_leader_epoch", -1),
                       metadata=p.committed_metadata)
        for t in body.topics for p in t.partitions
    ]
    verdicts = await kafka.broker.groups.commit(
        conn.context(request), body.group_id, offsets,
        generation_id=body.generation_id_or_member_epoch, member_id=body.member_id,
        group_instance_id=getattr(body, "group_instance_id", None),
    )
    return {"throttle_time": 0, "topics": [
        {"name": t.name, "partitions": [
            {"partition_index": p.partition_index,
             "error_code": verdicts[(t.name, p.partition_index)]}
            for p in t.partitions]}
        for t in body.topics]}


async def offset_fetch(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    body = request.body
    if request.api_version >= 8:
        groups = []
        for g in body.groups:
            try:
                groups.append({"group_id": g.group_id,
                               **await _fetch_one(kafka, ctx, g.group_id, g.topics)})
            except errors.BrokerError as exc:
                groups.append({"group_id": g.group_id, "topics": [],
                               "error_code": exc.kafka_code})
        return {"throttle_time": 0, "groups": groups}
    return {"throttle_time": 0, **await _fetch_one(kafka, ctx, body.group_id, body.topics)}


async def _fetch_one(kafka: KafkaListener, ctx: Any, group_id: str, topics: Any) -> dict[str, Any]:
    wanted = None if topics is None else [(t.name, list(t.partition_indexes)) for t in topics]
    out = []
    for name, partitions in await kafka.broker.groups.committed(ctx, group_id, wanted):
        out.append({"name": name, "partitions": [
            {
                "partition_index": p,
                "committed_offset": o.offset if o else -1,
                "committed_leader_epoch": o.leader_epoch if o else -1,
                "metadata": (o.metadata if o else "") or "",
                "error_code": 0,
            }
            for p, o in partitions
        ]})
    return {"topics": out, "error_code": 0}


async def list_groups(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    states = set(getattr(request.body, "states_filter", ()) or ())
    groups = await kafka.broker.groups.list_groups(conn.context(request), states or None)
    return {
        "throttle_time": 0,
        "error_code": 0,
        "groups": [
            {"group_id": g, "protocol_type": p, "group_state": s, "group_type": "classic"}
            for g, p, s in groups
        ],
    }


async def describe_groups(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    out = []
    for group_id in request.body.groups:
        entry: dict[str, Any] = {"error_code": 0, "group_id": group_id, "group_state": "Dead",
                                 "protocol_type": "", "protocol_data": "", "members": [],
                                 "authorized_operations": UNKNOWN_OPERATIONS}
        out.append(entry)
        try:
            desc = await kafka.broker.groups.describe(ctx, group_id)
        except errors.BrokerError as exc:
            entry.update(error_code=exc.kafka_code, group_state="")
            continue
        if getattr(request.body, "include_authorized_operations", False):
            entry["authorized_operations"] = kafka.broker.groups.authorized_operations(
                ctx, group_id)
        if desc is None:
            continue
        entry.update(
            group_state=desc.state,
            protocol_type=desc.protocol_type,
            protocol_data=desc.protocol_name,
            members=[
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "member_metadata": m.metadata,
                    "member_assignment": m.assignment,
                }
                for m in desc.members
            ],
        )
    return {"throttle_time": 0, "groups": out}


async def delete_groups(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    results = []
    for g in request.body.groups_names:
        entry: dict[str, Any] = {"group_id": g, "error_code": 0}
        try:
            await kafka.broker.groups.delete(ctx, g)
        except errors.BrokerError as exc:
            entry["error_code"] = exc.kafka_code
        results.append(entry)
    return {"throttle_time": 0, "results": results}


async def offset_delete(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    try:
        verdicts = await kafka.broker.groups.delete_offsets(
            conn.context(request), body.group_id,
            [(t.name, [p.partition_index for p in t.partitions]) for t in body.topics],
        )
    except errors.GroupIdNotFound:
        return {"error_code": ErrorCode.group_id_not_found, "throttle_time": 0, "topics": []}
    return {"error_code": 0, "throttle_time": 0, "topics": [
        {"name": t.name, "partitions": [
            {"partition_index": p.partition_index, "error_code": verdicts[t.name]}
            for p in t.partitions]}
        for t in body.topics]}


_HANDLERS = {
    FIND_COORDINATOR: find_coordinator,
    JOIN: join_group,
    SYNC: sync_group,
    HEARTBEAT: heartbeat,
    LEAVE: leave_group,
    OFFSET_COMMIT: offset_commit,
    OFFSET_FETCH: offset_fetch,
    LIST: list_groups,
    DESCRIBE: describe_groups,
    DELETE: delete_groups,
    OFFSET_DELETE: offset_delete,
}
