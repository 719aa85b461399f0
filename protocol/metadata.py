"""Metadata: brokers (live agents) and topics with their partitions' leaders and epochs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from coordinator.catalogue import Topic

from .cluster import brokers

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {3: (0, 12)}


async def topic_entry(broker: Broker, topic: Topic) -> dict[str, Any]:
    partitions = []
    for p in range(topic.partition_count):
        plog = await broker.logs.partition(topic, p)
        leader = broker.node_id if plog.is_leader else -1
        partitions.append(
            {
                "error_code": 0 if leader >= 0 else ErrorCode.leader_not_available,
                "partition_index": p,
                "leader_id": leader,
                "leader_epoch": plog.leader_epoch,
                "replica_nodes": [broker.node_id],
                "isr_nodes": [broker.node_id],
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
    topics: list[dict[str, Any]] = []
    if requested is None:
        for topic in await broker.catalogue.list_topics():
            broker.logs.update_topic(topic)
            topics.append(await topic_entry(broker, topic))
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
            topics.append(await topic_entry(broker, topic))
    return {
        "throttle_time": 0,
        "brokers": await brokers(broker),
        "cluster_id": broker.options.cluster_id,
        "controller_id": broker.node_id,
        "topics": topics,
    }
