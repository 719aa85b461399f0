"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over Kafka, for topic and
broker resources, on `broker.topics` and `broker.cluster`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors
from broker.acls import Operation
from broker.topics import SOURCE_STATIC_BROKER, ConfigChange, ConfigOp

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {32: (1, 4), 33: (0, 2), 44: (0, 1)}

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
_OPS: dict[int, ConfigOp] = {0: "set", 1: "delete", 2: "append", 3: "subtract"}

_TYPES = {  # Kafka's ConfigType: 3 INT, 5 LONG, 7 LIST; 2 STRING otherwise
    "retention.ms": 5,
    "retention.bytes": 5,
    "max.message.bytes": 3,
    "segment.bytes": 3,
    "min.insync.replicas": 3,
    "cleanup.policy": 7,
}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    if request.api_key == 32:
        return await describe(kafka, request, conn)
    return await alter(kafka, request, conn, incremental=request.api_key == 44)


async def describe(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    b = kafka.broker
    results = []
    for res in request.body.resources:
        entry: dict[str, Any] = {"error_code": 0, "error_message": None,
                                 "resource_type": res.resource_type,
                                 "resource_name": res.resource_name, "configs": []}
        results.append(entry)
        keys = set(res.configuration_keys) if res.configuration_keys else None
        if res.resource_type == TOPIC:
            try:
                topic = await b.topics.get(ctx, res.resource_name, refresh=True,
                                           op=Operation.DESCRIBE_CONFIGS)
            except errors.NotAuthorized as exc:
                entry.update(error_code=exc.kafka_code, error_message=exc.message)
                continue
            if topic is None:
                entry.update(error_code=ErrorCode.unknown_topic_or_partition,
                             error_message=f"topic {res.resource_name!r} does not exist")
                continue
            values = [(c.name, c.value, c.source) for c in b.topics.config_entries(topic, keys)]
        elif res.resource_type in (BROKER, BROKER_LOGGER):
            if res.resource_name not in ("", str(b.node_id)):
                entry.update(error_code=ErrorCode.invalid_request,
                             error_message=f"broker {res.resource_name!r} is not this broker")
                continue
            configs = b.cluster.broker_configs() if res.resource_type == BROKER else {}
            values = [(k, v, SOURCE_STATIC_BROKER) for k, v in sorted(configs.items())
                      if keys is None or k in keys]
        else:
            entry.update(error_code=ErrorCode.invalid_request,
                         error_message=f"resource type {res.resource_type} is not supported")
            continue
        entry["configs"] = [
            {"name": k, "value": v, "read_only": res.resource_type != TOPIC,
             "config_source": source, "is_sensitive": False, "synonyms": [],
             "config_type": _TYPES.get(k, 2), "documentation": None}
            for k, v, source in values
        ]
    return {"throttle_time": 0, "results": results}


async def alter(
    kafka: KafkaListener, request: Request, conn: Connection, *, incremental: bool
) -> dict[str, Any]:
    ctx = conn.context(request)
    body = request.body
    responses = []
    for res in body.resources:
        entry: dict[str, Any] = {"error_code": 0, "error_message": None,
                                 "resource_type": res.resource_type,
                                 "resource_name": res.resource_name}
        responses.append(entry)
        if res.resource_type != TOPIC:
            entry.update(error_code=ErrorCode.invalid_request,
                         error_message="broker configs are static: set them with streamhouse serve flags")
            continue
        try:
            changes = [ConfigChange(name=c.name, value=c.value,
                                    op=_op(c.config_operation) if incremental else "set")
                       for c in res.configs]
            await kafka.broker.topics.alter_config(ctx, res.resource_name, changes,
                                                   incremental=incremental,
                                                   validate_only=body.validate_only)
        except errors.BrokerError as exc:
            entry.update(error_code=exc.kafka_code, error_message=exc.message)
    return {"throttle_time": 0, "responses": responses}


def _op(code: int) -> ConfigOp:
    op = _OPS.get(code)
    if op is None:
        raise errors.InvalidConfig(f"unknown config operation {code}")
    return op
