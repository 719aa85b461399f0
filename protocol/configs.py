"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topic and broker resources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from storage.topic_config import DEFAULTS, InvalidConfig, validate

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {32: (1, 4), 33: (0, 2), 44: (0, 1)}

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
SOURCE_TOPIC, SOURCE_STATIC_BROKER, SOURCE_DEFAULT = 1, 4, 5
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3

_TYPES = {
    "retention.ms": 5,
    "retention.bytes": 5,
    "max.message.bytes": 3,
    "segment.bytes": 3,
    "min.insync.replicas": 3,
    "cleanup.policy": 7,
}


def broker_configs(broker: Broker) -> dict[str, str]:
    return {
        "inter.broker.protocol.version": "3.7-IV4",
        "log.message.format.version": "3.0-IV1",
        "broker.id": str(broker.node_id),
        "auto.create.topics.enable": str(broker.options.auto_create_topics).lower(),
        "num.partitions": str(broker.options.default_partitions),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "message.max.bytes": DEFAULTS["max.message.bytes"],
        "log.retention.ms": DEFAULTS["retention.ms"],
        "log.retention.bytes": DEFAULTS["retention.bytes"],
        "log.cleanup.policy": DEFAULTS["cleanup.policy"],
        "socket.request.max.bytes": str(broker.options.max_request_bytes),
        "transaction.state.log.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
    }


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    if request.api_key == 32:
        return await describe(broker, request)
    return await alter(broker, request, incremental=request.api_key == 44)


async def describe(broker: Broker, request: Request) -> dict[str, Any]:
    results = []
    for res in request.body.resources:
        entry: dict[str, Any] = {
            "error_code": 0,
            "error_message": None,
            "resource_type": res.resource_type,
            "resource_name": res.resource_name,
            "configs": [],
        }
        results.append(entry)
        keys = set(res.configuration_keys) if res.configuration_keys else None
        if res.resource_type == TOPIC:
            topic = await broker.logs.topic(res.resource_name, refresh=True)
            if topic is None:
                entry.update(
                    error_code=ErrorCode.unknown_topic_or_partition,
                    error_message=f"topic {res.resource_name!r} does not exist",
                )
                continue
            values = {**DEFAULTS, **topic.config}
            sources = {k: SOURCE_TOPIC if k in topic.config else SOURCE_DEFAULT for k in values}
        elif res.resource_type in (BROKER, BROKER_LOGGER):
            if res.resource_name not in ("", str(broker.node_id)):
                entry.update(
                    error_code=ErrorCode.invalid_request,
                    error_message=f"broker {res.resource_name!r} is not this broker",
                )
                continue
            values = broker_configs(broker) if res.resource_type == BROKER else {}
            sources = dict.fromkeys(values, SOURCE_STATIC_BROKER)
        else:
            entry.update(
                error_code=ErrorCode.invalid_request,
                error_message=f"resource type {res.resource_type} is not supported",
            )
            continue
        entry["configs"] = [
            {
                "name": k,
                "value": v,
                "read_only": res.resource_type != TOPIC,
                "config_source": sources[k],
                "is_sensitive": False,
                "synonyms": [],
                "config_type": _TYPES.get(k, 2),
                "documentation": None,
                "is_default": sources[k] == SOURCE_DEFAULT,
            }
            for k, v in sorted(values.items())
            if keys is None or k in keys
        ]
    return {"throttle_time": 0, "results": results}


async def alter(broker: Broker, request: Request, *, incremental: bool) -> dict[str, Any]:
    body = request.body
    responses = []
    for res in body.resources:
        entry: dict[str, Any] = {
            "error_code": 0,
            "error_message": None,
            "resource_type": res.resource_type,
            "resource_name": res.resource_name,
        }
        responses.append(entry)
        if res.resource_type != TOPIC:
            entry.update(
                error_code=ErrorCode.invalid_request,
                error_message="broker configs are static: set them with streamhouse serve flags",
            )
            continue
        topic = await broker.logs.topic(res.resource_name, refresh=True)
        if topic is None:
            entry.update(
                error_code=ErrorCode.unknown_topic_or_partition,
                error_message=f"topic {res.resource_name!r} does not exist",
            )
            continue
        try:
            config = _apply(dict(topic.config), res.configs, incremental)
            checked = validate(config)
        except InvalidConfig as exc:
            entry.update(error_code=ErrorCode.invalid_config, error_message=str(exc))
            continue
        if not body.validate_only:
            topic = await broker.catalogue.set_topic_config(topic.name, checked)
            broker.logs.update_topic(topic)
    return {"throttle_time": 0, "responses": responses}


def _apply(config: dict[str, str], changes: Any, incremental: bool) -> dict[str, str]:
    if not incremental:
        # AlterConfigs replaces the whole set of overrides.
        return {c.name: c.value for c in changes if c.value is not None}
    for c in changes:
        op = c.config_operation
        if op == SET:
            if c.value is None:
                raise InvalidConfig(f"SET of {c.name!r} needs a value")
            config[c.name] = c.value
        elif op == DELETE:
            config.pop(c.name, None)
        elif op in (APPEND, SUBTRACT):
            if c.name != "cleanup.policy":
                raise InvalidConfig(
                    f"{c.name!r} is not a list config; APPEND/SUBTRACT do not apply"
                )
            items = [i for i in config.get(c.name, DEFAULTS[c.name]).split(",") if i]
            for v in (c.value or "").split(","):
                if op == APPEND and v and v not in items:
                    items.append(v)
                if op == SUBTRACT and v in items:
                    items.remove(v)
            config[c.name] = ",".join(items) or DEFAULTS[c.name]
        else:
            raise InvalidConfig(f"unknown config operation {op}")
    return config
