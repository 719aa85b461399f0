"""Metadata over Kafka: brokers (live agents) and topics with their partitions' leaders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors
from broker.cluster import PartitionLeader
from broker.context import RequestContext
from broker.topics import invalid_name
from broker.types import Agent, Topic

from .cluster import brokers

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {3: (0, 12)}

UNKNOWN_OPERATIONS = -2147483648


_REPLICAS: dict[int, list[int]] = {}
_NO_OFFLINE: list[int] = []


async def topic_entry(
    kafka: KafkaListener, ctx: RequestContext, topic: Topic, live: list[Agent],
    with_operations: bool = False, leaders: list[PartitionLeader] | None = None,
) -> dict[str, Any]:
    if leaders is None:
        leaders = await kafka.broker.cluster.leaders(ctx, topic, live)
    return entry_of(kafka, ctx, topic, leaders, with_operations)


def entry_of(
    kafka: KafkaListener, ctx: RequestContext, topic: Topic, leaders: list[PartitionLeader],
    with_operations: bool,
) -> dict[str, Any]:
    """A topic's Metadata entry from its leaders (no await: called for every topic)."""
    partitions = []
    for p in leaders:
        # One list per leader, shared by its partitions (the encoder only reads them).
        replicas = _REPLICAS.get(p.leader_id)
        if replicas is None:
            replicas = _REPLICAS[p.leader_id] = [p.leader_id] if p.leader_id >= 0 else []
        partitions.append({
            "error_code": 0 if p.leader_id >= 0 else ErrorCode.leader_not_available,
            "partition_index": p.partition,
            "leader_id": p.leader_id,
            "leader_epoch": p.leader_epoch,
            "replica_nodes": replicas,
            "isr_nodes": replicas,
            "offline_replicas": _NO_OFFLINE,
        })
    return {
        "error_code": 0,
        "name": topic.name,
        "topic_id": topic.uuid,
        "is_internal": False,
        "partitions": partitions,
        "topic_authorized_operations": (
            kafka.broker.topics.authorized_operations(ctx, topic.name) if with_operations
            else UNKNOWN_OPERATIONS),
    }


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    b = kafka.broker
    body = request.body
    requested = body.topics
    if request.api_version == 0 and not requested:
        requested = None
    allow_auto = getattr(body, "allow_auto_topic_creation", True)
    live = await b.cluster.live_agents()
    ops = bool(getattr(body, "include_topic_authorized_operations", False))
    topics: list[dict[str, Any]] = []
    if requested is None:
        listed = await b.topics.list_topics(ctx)
        leaders = await b.cluster.leaders_of(ctx, listed, live)
        for topic in listed:
            topics.append(entry_of(kafka, ctx, topic, leaders[topic.id], ops))
    else:
        for wanted in requested:
            name = wanted.name
            topic = None
            code = ErrorCode.unknown_topic_or_partition
            if name is None and getattr(wanted, "topic_id", None) is not None:
                topic = await b.topics.by_id(ctx, wanted.topic_id.hex)
            elif name is not None:
                try:
                    topic = await (b.topics.get_or_create(ctx, name) if allow_auto
                                   else b.topics.get(ctx, name))
                except errors.NotAuthorized as exc:
                    code = exc.kafka_code
            if topic is None:
                if name and invalid_name(name):
                    code = ErrorCode.invalid_topic_exception
                topics.append({"error_code": code, "name": name, "partitions": [],
                               "topic_id": getattr(wanted, "topic_id", None)})
                continue
            topics.append(await topic_entry(kafka, ctx, topic, live, ops))
    cluster_ops = UNKNOWN_OPERATIONS
    if getattr(body, "include_cluster_authorized_operations", False):
        cluster_ops = b.cluster.authorized_operations(ctx)
    return {
        "cluster_authorized_operations": cluster_ops,
        "throttle_time": 0,
        "brokers": brokers(live, conn.protocol, "node_id"),
        "cluster_id": b.cluster.cluster_id,
        "controller_id": live[0].broker_id,
        "topics": topics,
    }
