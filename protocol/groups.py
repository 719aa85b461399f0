"""Consumer-group APIs: FindCoordinator, Join/Sync/Heartbeat/LeaveGroup, offsets, group admin.

The state machine is `coordinator.groups.GroupCoordinator`; this module only
maps Kafka requests onto it and its answers (error names) onto ErrorCode.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from coordinator.catalogue import Agent, AgentId
from coordinator.consumer_protocol import subscription_topics
from coordinator.groups import EMPTY
from coordinator.offsets import CommittedOffset

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

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


def code(name: str) -> ErrorCode:
    return ErrorCode[name]


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    """Group requests are answered by the group's coordinator only (as Kafka does): the
    others say NOT_COORDINATOR, per group where a request names several."""
    handler = _HANDLERS[request.api_key]
    if request.api_key in (JOIN, SYNC, HEARTBEAT, LEAVE, OFFSET_COMMIT, OFFSET_DELETE):
        if not await coordinates(broker, request.body.group_id):
            return _not_coordinator(request)
    return await handler(broker, request, conn)


_COORDINATOR_CACHE_S = 1.0


async def coordinator_for(broker: Broker, group_id: str) -> Agent:
    """The one live agent that coordinates a group: the holder of its coordinator lease.

    A group without a live lease is claimed for one of the live agents (a hash of its id),
    in one catalogue transaction, so every agent names the same coordinator. The holder
    renews the lease with its partition leases; when it stops or dies the lease ends and
    the group moves: members get NOT_COORDINATOR, find the new coordinator and rejoin
    (committed offsets are in the catalogue). Answers are cached for a second.
    """
    cache = broker.group_coordinators
    now = time.monotonic()
    hit = cache.get(group_id)
    if hit is not None and now - hit[0] < _COORDINATOR_CACHE_S:
        return hit[1]
    live = await broker.live_agents()
    by_id = {a.id: a for a in live}
    offsets = broker.catalogue.offsets
    lease = await offsets.coordinator(group_id)
    wall = int(time.time() * 1000)
    if lease is None or lease.expires_at <= wall or lease.agent_id not in by_id:
        live = await broker.live_agents(fresh=True)  # never hand a group to a departed agent
        by_id = {a.id: a for a in live}
        candidate = live[zlib.crc32(group_id.encode()) % len(live)]
        lease = await offsets.claim(group_id, candidate.id, broker.logs.options.lease_ttl_ms)
    agent = by_id.get(AgentId(lease.agent_id))
    if agent is None:  # a holder this agent's (cached) view does not list yet
        agent = next((a for a in await broker.catalogue.list_agents() if a.id == lease.agent_id),
                     live[0])
    if agent.id != broker.agent.id:
        broker.groups.forget(group_id)
    if len(cache) > 10_000:  # forget old lookups of groups nobody asks about any more
        for gid in [g for g, (at, _a) in cache.items() if now - at >= _COORDINATOR_CACHE_S]:
            del cache[gid]
    cache[group_id] = (now, agent)
    return agent


async def coordinates(broker: Broker, group_id: str) -> bool:
    return (await coordinator_for(broker, group_id)).id == broker.agent.id


def _not_coordinator(request: Request) -> dict[str, Any]:
    if request.api_key == OFFSET_DELETE:
        return {"throttle_time": 0, "error_code": ErrorCode.not_coordinator, "topics": []}
    if request.api_key == OFFSET_COMMIT:
        return {"throttle_time": 0, "topics": [
            {"name": t.name, "partitions": [
                {"partition_index": p.partition_index, "error_code": ErrorCode.not_coordinator}
                for p in t.partitions]}
            for t in request.body.topics]}
    return {"throttle_time": 0, "error_code": ErrorCode.not_coordinator, "generation_id": -1,
            "members": []}


async def find_coordinator(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    keys = list(getattr(body, "coordinator_keys", ()) or ())
    if request.api_version < 4:
        keys = [body.key]
    entries = []
    for k in keys:
        agent = await coordinator_for(broker, k)
        entries.append({"key": k, "node_id": agent.broker_id, "host": agent.host,
                        "port": agent.port, "error_code": 0, "error_message": None})
    if request.api_version < 4:
        return {"throttle_time": 0, **entries[0]}
    return {"throttle_time": 0, "coordinators": entries}


async def join_group(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    session_ms = int(body.session_timeout.total_seconds() * 1000)
    rebalance = getattr(body, "rebalance_timeout", None)
    rebalance_ms = int(rebalance.total_seconds() * 1000) if rebalance is not None else session_ms
    result = await broker.groups.join(
        body.group_id,
        body.member_id or "",
        group_instance_id=getattr(body, "group_instance_id", None),
        protocol_type=body.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in body.protocols],
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=rebalance_ms,
        client_id=request.client_id or "",
        client_host=_host(conn),
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


async def sync_group(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    result = await broker.groups.sync(
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


async def heartbeat(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    error = broker.groups.heartbeat(
        body.group_id, body.generation_id, body.member_id, getattr(body, "group_instance_id", None)
    )
    return {"throttle_time": 0, "error_code": code(error)}


async def leave_group(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    leaving: list[tuple[str, str | None]]
    if request.api_version < 3:
        leaving = [(body.member_id, None)]
    else:
        leaving = [(m.member_id, m.group_instance_id) for m in body.members]
    error, per_member = broker.groups.leave(body.group_id, leaving)
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


async def offset_commit(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    now = int(time.time() * 1000)
    offsets = []
    topics_out = []
    for t in body.topics:
        topic = await broker.logs.topic(t.name)
        parts = []
        for p in t.partitions:
            ok = topic is not None and 0 <= p.partition_index < topic.partition_count
            parts.append(
                {
                    "partition_index": p.partition_index,
                    "error_code": 0 if ok else ErrorCode.unknown_topic_or_partition,
                }
            )
            if ok:
                offsets.append(
                    CommittedOffset(
                        group_id=body.group_id,
                        topic=t.name,
                        partition=p.partition_index,
                        offset=p.committed_offset,
                        leader_epoch=getattr(p, "committed_leader_epoch", -1),
                        metadata=p.committed_metadata,
                        commit_time=now,
                    )
                )
        topics_out.append({"name": t.name, "partitions": parts})
    error = await broker.groups.commit_offsets(
        body.group_id,
        body.generation_id_or_member_epoch,
        body.member_id,
        getattr(body, "group_instance_id", None),
        offsets,
    )
    if error != "none":
        for t in topics_out:
            for p in t["partitions"]:
                p["error_code"] = code(error)
    return {"throttle_time": 0, "topics": topics_out}


async def offset_fetch(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    if request.api_version >= 8:
        groups = []
        for g in body.groups:
            if await coordinates(broker, g.group_id):
                groups.append({"group_id": g.group_id, **await _fetch_one(broker, g.group_id, g.topics)})
            else:
                groups.append({"group_id": g.group_id, "topics": [],
                               "error_code": ErrorCode.not_coordinator})
        return {"throttle_time": 0, "groups": groups}
    if not await coordinates(broker, body.group_id):
        # v1 has no top-level error code: the partitions asked for carry it.
        topics = [{"name": t.name, "partitions": [
            {"partition_index": p, "committed_offset": -1, "committed_leader_epoch": -1,
             "metadata": "", "error_code": ErrorCode.not_coordinator}
            for p in t.partition_indexes]} for t in (body.topics or [])]
        return {"throttle_time": 0, "topics": topics, "error_code": ErrorCode.not_coordinator}
    return {"throttle_time": 0, **await _fetch_one(broker, body.group_id, body.topics)}


async def _fetch_one(broker: Broker, group_id: str, topics: Any) -> dict[str, Any]:
    committed = {(o.topic, o.partition): o for o in await broker.catalogue.offsets.fetch(group_id)}
    out = []
    if topics is None:
        by_topic: dict[str, list[CommittedOffset]] = {}
        for c in committed.values():
            by_topic.setdefault(c.topic, []).append(c)
        wanted = [(name, [c.partition for c in offs]) for name, offs in by_topic.items()]
    else:
        wanted = [(t.name, list(t.partition_indexes)) for t in topics]
    for name, partitions in wanted:
        parts = []
        for p in partitions:
            o: CommittedOffset | None = committed.get((name, p))
            parts.append(
                {
                    "partition_index": p,
                    "committed_offset": o.offset if o else -1,
                    "committed_leader_epoch": o.leader_epoch if o else -1,
                    "metadata": (o.metadata if o else "") or "",
                    "error_code": 0,
                }
            )
        out.append({"name": name, "partitions": parts})
    return {"topics": out, "error_code": 0}


async def list_groups(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    states = set(getattr(request.body, "states_filter", ()) or ())
    # Admin clients ask every broker and merge: each lists the groups it coordinates.
    groups = [g for g in await broker.groups.list_groups(states or None)
              if await coordinates(broker, g[0])]
    return {
        "throttle_time": 0,
        "error_code": 0,
        "groups": [
            {"group_id": g, "protocol_type": p, "group_state": s, "group_type": "classic"}
            for g, p, s in groups
        ],
    }


async def describe_groups(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    out = []
    for group_id in request.body.groups:
        if not await coordinates(broker, group_id):
            out.append({"error_code": ErrorCode.not_coordinator, "group_id": group_id,
                        "group_state": "", "protocol_type": "", "protocol_data": "",
                        "members": [], "authorized_operations": -2147483648})
            continue
        desc = await broker.groups.describe(group_id)
        if desc is None:
            out.append(
                {
                    "error_code": 0,
                    "group_id": group_id,
                    "group_state": "Dead",
                    "protocol_type": "",
                    "protocol_data": "",
                    "members": [],
                    "authorized_operations": -2147483648,
                }
            )
            continue
        out.append(
            {
                "error_code": 0,
                "group_id": group_id,
                "group_state": desc.state,
                "protocol_type": desc.protocol_type,
                "protocol_data": desc.protocol_name,
                "authorized_operations": -2147483648,
                "members": [
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
            }
        )
    return {"throttle_time": 0, "groups": out}


async def delete_groups(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    results = []
    for g in request.body.groups_names:
        if not await coordinates(broker, g):
            results.append({"group_id": g, "error_code": ErrorCode.not_coordinator})
            continue
        results.append({"group_id": g, "error_code": code(await broker.groups.delete_group(g))})
    return {"throttle_time": 0, "results": results}


async def offset_delete(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    group_id = body.group_id
    if (
        not await broker.catalogue.offsets.group_exists(group_id)
        and broker.groups.state_of(group_id) == EMPTY
    ):
        return {"error_code": ErrorCode.group_id_not_found, "throttle_time": 0, "topics": []}
    members = broker.groups.subscribed_members(group_id)
    group = broker.groups.groups.get(group_id)
    protocol = group.protocol_name if group is not None else None
    subscribed_topics: set[str] = set()
    for m in members:
        subscribed_topics |= subscription_topics(m.metadata_for(protocol))
    topics_out = []
    for t in body.topics:
        subscribed = t.name in subscribed_topics
        partitions = [p.partition_index for p in t.partitions]
        if not subscribed:
            await broker.catalogue.offsets.delete_offsets(group_id, t.name, partitions)
        err = ErrorCode.group_subscribed_to_topic if subscribed else ErrorCode.none
        topics_out.append(
            {
                "name": t.name,
                "partitions": [{"partition_index": p, "error_code": err} for p in partitions],
            }
        )
    return {"error_code": 0, "throttle_time": 0, "topics": topics_out}


def _host(conn: Connection) -> str:
    return "/" + conn.peer.rsplit(":", 1)[0]


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
