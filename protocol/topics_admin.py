"""CreateTopics, DeleteTopics, CreatePartitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from coordinator.catalogue import CatalogueError
from storage.topic_config import DEFAULTS, InvalidConfig, validate

from .errors import error_code

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {19: (2, 7), 20: (1, 6), 37: (0, 3)}


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    if request.api_key == 19:
        return await create_topics(broker, request)
    if request.api_key == 20:
        return await delete_topics(broker, request)
    return await create_partitions(broker, request)


async def create_topics(broker: Broker, request: Request) -> dict[str, Any]:
    from .broker import valid_topic_name

    body = request.body
    seen: dict[str, int] = {}
    for t in body.topics:
        seen[t.name] = seen.get(t.name, 0) + 1
    results = []
    for t in body.topics:
        entry: dict[str, Any] = {
            "name": t.name,
            "error_code": 0,
            "error_message": None,
            "num_partitions": -1,
            "replication_factor": -1,
            "configs": None,
        }
        results.append(entry)
        partitions = (
            t.num_partitions if t.num_partitions != -1 else broker.options.default_partitions
        )
        if seen[t.name] > 1:
            entry.update(error_code=ErrorCode.invalid_request, error_message="topic listed twice")
            continue
        reason = valid_topic_name(t.name)
        if reason:
            entry.update(error_code=ErrorCode.invalid_topic_exception, error_message=reason)
            continue
        if partitions < 1 or t.assignments:
            entry.update(
                error_code=ErrorCode.invalid_partitions,
                error_message="num_partitions must be at least 1 (manual assignments are not supported)",
            )
            continue
        if t.replication_factor not in (-1, 1, 2, 3):
            entry.update(
                error_code=ErrorCode.invalid_replication_factor,
                error_message="replication is the object store's; use -1, 1, 2 or 3",
            )
            continue
        config = {c.name: c.value for c in t.configs}
        try:
            checked = validate(config)
            if body.validate_only:
                if await broker.logs.topic(t.name, refresh=True) is not None:
                    entry.update(
                        error_code=ErrorCode.topic_already_exists,
                        error_message=f"topic {t.name!r} already exists",
                    )
                    continue
            else:
                topic = await broker.create_topic(t.name, partitions, config)
                entry["topic_id"] = topic.uuid
        except (CatalogueError, InvalidConfig) as exc:
            entry.update(error_code=error_code(exc), error_message=str(exc))
            continue
        entry["num_partitions"] = partitions
        entry["replication_factor"] = t.replication_factor if t.replication_factor > 0 else 1
        merged = {**DEFAULTS, **checked}
        entry["configs"] = [
            {
                "name": k,
                "value": v,
                "read_only": False,
                "config_source": 1 if k in checked else 5,
                "is_sensitive": False,
            }
            for k, v in sorted(merged.items())
        ]
    return {"throttle_time": 0, "topics": results}


async def delete_topics(broker: Broker, request: Request) -> dict[str, Any]:
    body = request.body
    names = list(getattr(body, "topic_names", ()) or ())
    for t in getattr(body, "topics", ()) or ():
        if t.name is None and t.topic_id is not None:
            topic = await broker.catalogue.get_topic_by_id(t.topic_id.hex)
            names.append(topic.name if topic else f"id:{t.topic_id}")
        else:
            names.append(t.name)
    responses = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "error_code": 0, "error_message": None}
        responses.append(entry)
        try:
            topic = await broker.catalogue.delete_topic(name)
            entry["topic_id"] = topic.uuid
            await broker.logs.delete_topic_data(topic)
        except CatalogueError as exc:
            entry.update(error_code=error_code(exc), error_message=str(exc))
    return {"throttle_time": 0, "responses": responses}


async def create_partitions(broker: Broker, request: Request) -> dict[str, Any]:
    body = request.body
    results = []
    for t in body.topics:
        entry: dict[str, Any] = {"name": t.name, "error_code": 0, "error_message": None}
        results.append(entry)
        try:
            topic = await broker.logs.topic(t.name, refresh=True)
            if topic is None:
                entry.update(
                    error_code=ErrorCode.unknown_topic_or_partition,
                    error_message=f"topic {t.name!r} does not exist",
                )
                continue
            if t.count <= topic.partition_count:
                entry.update(
                    error_code=ErrorCode.invalid_partitions,
                    error_message=(
                        f"topic {t.name!r} has {topic.partition_count} partitions; the new count"
                        f" must be larger, got {t.count}"
                    ),
                )
                continue
            if not body.validate_only:
                await broker.add_partitions(t.name, t.count)
        except CatalogueError as exc:
            entry.update(error_code=error_code(exc), error_message=str(exc))
    return {"throttle_time": 0, "results": results}
