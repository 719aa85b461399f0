"""Metadata: brokers (live agents) and topics with their partitions' leaders and epochs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from coordinator.catalogue import Agent, Topic, now_ms

from .cluster import brokers, live_agents

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {3: (0, 12)}


async def topic_entry(broker: Broker, topic: Topic, live: list[Agent]) -> dict[str, Any]:
    """Each partition's leader is its lease holder, if that agent is alive and the lease valid.

    A partition nobody holds is taken on the spot by a lone agent; with several, the
    lease keepers share free partitions out within a tick (a quarter second).
    """
    ids = {a.id: a.broker_id for a in live}
    now = now_ms()
    states = {s.partition: s for s in await broker.catalogue.list_partitions(topic.id)}
    partitions = []
    for p in range(topic.partition_count):
        state = states.get(p)
        leader, epoch = -1, state.leader_epoch if state else -1
        if state is not None and state.leader_agent in ids and state.lease_expires_at > now:
            # Named from the catalogue only: a partition this agent leads opens on first
            # use (after a restart, thousands are led before any is opened).
            leader = ids[state.leader_agent]
        elif len(live) == 1:
            plog = await broker.logs.take(topic.id, p)
            if plog is not None:
                leader, epoch = broker.node_id, plog.leader_epoch
        replicas = [leader] if leader >= 0 else []
        partitions.append(
            {
                "error_code": 0 if leader >= 0 else ErrorCode.leader_not_available,
                "partition_index": p,
                "leader_id": leader,
                "leader_epoch": epoch,
                "replica_nodes": replicas,
                "isr_nodes": replicas,
                "offline_replicas": [],
            }
        )
    return {
        "error_code": 0,
        "name": topic.name,
        "topic_id": topic.uuid,
        "is_internal": False,
        "partitions": partitions,
        "topic_authorized_operations": -2147483648,
    }


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    requested = body.topics
    if request.api_version == 0 and not requested:
        requested = None
    allow_auto = getattr(body, "allow_auto_topic_creation", True)
    live = await live_agents(broker)
    topics: list[dict[str, Any]] = []
    if requested is None:
        for topic in await broker.catalogue.list_topics():
            broker.logs.update_topic(topic)
            topics.append(await topic_entry(broker, topic, live))
    else:
        for wanted in requested:
            name = wanted.name
            topic = None
            if name is None and getattr(wanted, "topic_id", None) is not None:
                topic = await broker.catalogue.get_topic_by_id(wanted.topic_id.hex)
            elif name is not None:
                topic = (
                    await broker.topic_or_autocreate(name)
                    if allow_auto
                    else await broker.logs.topic(name)
                )
            if topic is None:
                from .broker import valid_topic_name

                code = (
                    ErrorCode.invalid_topic_exception
                    if name and valid_topic_name(name)
                    else ErrorCode.unknown_topic_or_partition
                )
                topics.append(
                    {
                        "error_code": code,
                        "name": name,
                        "partitions": [],
                        "topic_id": getattr(wanted, "topic_id", None),
                    }
                )
                continue
            topics.append(await topic_entry(broker, topic, live))
    return {
        "throttle_time": 0,
        "brokers": await brokers(broker, live),
        "cluster_id": broker.options.cluster_id,
        "controller_id": live[0].broker_id,
        "topics": topics,
    }
