"""The answer to a request that failed as a whole: every entity it names (topic,
partition, group, resource) carries the error code, as Kafka's `getErrorResponse` does,
so a catalogue outage answers a retriable code instead of closing the connection.

Requests mirror into responses by a table (which response array answers which request
array, and which fields identify an entry); APIs with a top-level error code need none.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from kio.schema.errors import ErrorCode

from .build import build
from .codec import Request, response_class

SELF = "."  # the request array holds plain values (group ids, topic names, partition indexes)


@dataclass(frozen=True, slots=True)
class Mirror:
    response: str  # the response field (an array of entities)
    request: str  # the request field it answers
    keys: tuple[tuple[str, str], ...]  # (response field, request field or SELF)
    children: tuple[Mirror, ...] = ()


_TOPIC_PARTITIONS = {
    0: (Mirror("responses", "topic_data", (("name", "name"),),
               (Mirror("partition_responses", "partition_data", (("index", "index"),)),)),),
    1: (Mirror("responses", "topics", (("topic", "topic"), ("topic_id", "topic_id")),
               (Mirror("partitions", "partitions", (("partition_index", "partition"),)),)),),
    2: (Mirror("topics", "topics", (("name", "name"),),
               (Mirror("partitions", "partitions", (("partition_index", "partition_index"),)),)),),
    3: (Mirror("topics", "topics", (("name", "name"), ("topic_id", "topic_id"))),),
    8: (Mirror("topics", "topics", (("name", "name"),),
               (Mirror("partitions", "partitions", (("partition_index", "partition_index"),)),)),),
    9: (Mirror("groups", "groups", (("group_id", "group_id"),)),
        Mirror("topics", "topics", (("name", "name"),),
               (Mirror("partitions", "partition_indexes", (("partition_index", SELF),)),))),
    10: (Mirror("coordinators", "coordinator_keys", (("key", SELF),)),),
    15: (Mirror("groups", "groups", (("group_id", SELF),)),),
    19: (Mirror("topics", "topics", (("name", "name"),)),),
    20: (Mirror("responses", "topic_names", (("name", SELF),)),
         Mirror("responses", "topics", (("name", "name"), ("topic_id", "topic_id")))),
    32: (Mirror("results", "resources",
                (("resource_type", "resource_type"), ("resource_name", "resource_name"))),),
    33: (Mirror("responses", "resources",
                (("resource_type", "resource_type"), ("resource_name", "resource_name"))),),
    37: (Mirror("results", "topics", (("name", "name"),)),),
    42: (Mirror("results", "groups_names", (("group_id", SELF),)),),
    44: (Mirror("responses", "resources",
                (("resource_type", "resource_type"), ("resource_name", "resource_name"))),),
}


@cache
def _fields(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _entity(cls: type, name: str) -> type | None:
    """The entity class of an array field (`tuple[Entity, ...]`, maybe Optional)."""
    tp = _fields(cls).get(name)
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is not tuple:
        return None
    inner = typing.get_args(tp)[0]
    return inner if isinstance(inner, type) and dataclasses.is_dataclass(inner) else None


def _stamp(cls: type, values: dict[str, Any], code: ErrorCode, message: str) -> None:
    names = _fields(cls)
    if "error_code" in names:
        values["error_code"] = code
    if "error_message" in names:
        values["error_message"] = message
    if "records" in names:
        values["records"] = b""  # never a null record set (librdkafka: MessageSetSize -1)


def _mirror(cls: type, body: Any, mirrors: tuple[Mirror, ...], code: ErrorCode,
            message: str, values: dict[str, Any]) -> bool:
    """Fill `values` with one entry per requested entity; whether any mirror applied."""
    applied = False
    for m in mirrors:
        entity = _entity(cls, m.response)
        items = getattr(body, m.request, None)
        request_fields = _fields(type(body))  # type: ignore[arg-type]
        if entity is None or items is None or m.request not in request_fields:
            continue
        applied = True
        entries = []
        names = _fields(entity)
        for item in items:
            entry: dict[str, Any] = {}
            for out, src in m.keys:
                if out in names:
                    entry[out] = item if src == SELF else getattr(item, src, None)
            if not m.children or not _mirror(entity, item, m.children, code, message, entry):
                _stamp(entity, entry, code, message)
            entries.append(entry)
        values[m.response] = entries
    return applied


def error_response(request: Request, code: ErrorCode, message: str) -> Any | None:
    """The kio response answering `request` with `code` everywhere, or None when the API
    has no place for an error code (the caller then closes the connection)."""
    cls = response_class(request.api_key, request.api_version)
    values: dict[str, Any] = {}
    names = _fields(cls)
    mirrored = _mirror(cls, request.body, _TOPIC_PARTITIONS.get(request.api_key, ()), code,
                       message, values)
    if "error_code" in names:
        _stamp(cls, values, code, message)
    elif not mirrored:
        return None
    if "controller_id" in names:
        values["controller_id"] = -1
    return build(cls, values)
