"""CreateTopics, DeleteTopics, CreatePartitions over Kafka, on `broker.topics`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {19: (2, 7), 20: (1, 6), 37: (0, 3)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    if request.api_key == 19:
        return await create_topics(kafka, request, conn)
    if request.api_key == 20:
        return await delete_topics(kafka, request, conn)
    return await create_partitions(kafka, request, conn)


def _refused(entry: dict[str, Any], exc: errors.BrokerError) -> None:
    entry.update(error_code=exc.kafka_code, error_message=exc.message)


async def create_topics(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    topics = kafka.broker.topics
    body = request.body
    seen: dict[str, int] = {}
    for t in body.topics:
        seen[t.name] = seen.get(t.name, 0) + 1
    results = []
    for t in body.topics:
        entry: dict[str, Any] = {"name": t.name, "error_code": 0, "error_message": None,
                                 "num_partitions": -1, "replication_factor": -1, "configs": None}
        results.append(entry)
        if seen[t.name] > 1:
            entry.update(error_code=ErrorCode.invalid_request, error_message="topic listed twice")
            continue
        if t.assignments:
            entry.update(error_code=ErrorCode.invalid_partitions,
                         error_message="manual replica assignments are not supported")
            continue
        try:
            created = await topics.create(
                ctx, t.name, t.num_partitions, {c.name: c.value for c in t.configs},
                replication_factor=t.replication_factor, validate_only=body.validate_only,
            )
        except errors.BrokerError as exc:
            _refused(entry, exc)
            continue
        entry["topic_id"] = created.uuid  # zeros when only validating
        entry["num_partitions"] = created.partition_count
        entry["replication_factor"] = t.replication_factor if t.replication_factor > 0 else 1
        entry["configs"] = [
            {"name": c.name, "value": c.value, "read_only": False,
             "config_source": c.source, "is_sensitive": False}
            for c in topics.config_entries(created)
        ]
    return {"throttle_time": 0, "topics": results}


async def delete_topics(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    topics = kafka.broker.topics
    body = request.body
    names: list[str] = list(getattr(body, "topic_names", ()) or ())
    for t in getattr(body, "topics", ()) or ():
        if t.name is None and t.topic_id is not None:
            topic = await topics.by_id(ctx, t.topic_id.hex)
            names.append(topic.name if topic else f"id:{t.topic_id}")
        else:
            names.append(t.name)
    responses = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "error_code": 0, "error_message": None}
        responses.append(entry)
        try:
            entry["topic_id"] = (await topics.delete(ctx, name)).uuid
        except errors.BrokerError as exc:
            _refused(entry, exc)
    return {"throttle_time": 0, "responses": responses}


async def create_partitions(
    kafka: KafkaListener, request: Request, conn: Connection
) -> dict[str, Any]:
    ctx = conn.context(request)
    body = request.body
    results = []
    for t in body.topics:
        entry: dict[str, Any] = {"name": t.name, "error_code": 0, "error_message": None}
        results.append(entry)
        try:
            await kafka.broker.topics.add_partitions(ctx, t.name, t.count,
                                                     validate_only=body.validate_only)
        except errors.BrokerError as exc:
            _refused(entry, exc)
    return {"throttle_time": 0, "results": results}
