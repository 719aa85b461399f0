"""Build a kio message of any version from plain values.

Handlers describe a response once, as nested dicts with the field names of
Kafka's schemas; `build` keeps the fields the negotiated version has, fills
the ones it lacks with their defaults, and constructs kio's frozen
dataclasses. Requests are read with `getattr(request, name, default)`.
"""

from __future__ import annotations

import dataclasses
import datetime
import types
import typing
import uuid
from functools import cache
from typing import Any

from kio.schema.errors import ErrorCode

_ZERO: dict[str, Any] = {
    "int8": 0,
    "int16": 0,
    "int32": 0,
    "int64": 0,
    "uint16": 0,
    "uint32": 0,
    "uint64": 0,
    "float64": 0.0,
    "bool": False,
    "string": "",
    "bytes": b"",
    "records": None,
    "uuid": uuid.UUID(int=0),
    "error_code": ErrorCode.none,
    "timedelta_i32": datetime.timedelta(0),
    "timedelta_i64": datetime.timedelta(0),
    "datetime_i64": datetime.datetime.fromtimestamp(0, datetime.UTC),
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    nested: type | None  # entity type, for nested entities and arrays of them
    array: bool
    optional: bool
    kafka_type: str | None
    default: Any


def _unwrap(tp: Any) -> tuple[Any, bool]:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if args else tp), True
    return tp, False


@cache
def _specs(cls: type) -> tuple[_Spec, ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp, optional = _unwrap(hints[f.name])
        array = typing.get_origin(tp) is tuple
        inner = typing.get_args(tp)[0] if array else tp
        inner, _ = _unwrap(inner)
        nested: type | None = (
            inner if isinstance(inner, type) and dataclasses.is_dataclass(inner) else None
        )
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        elif optional:
            default = None
        elif array:
            default = ()
        else:
            default = dataclasses.MISSING
        out.append(_Spec(f.name, nested, array, optional, f.metadata.get("kafka_type"), default))
    return tuple(out)


def build(cls: type, values: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for spec in _specs(cls):
        if spec.name in values:
            value = values[spec.name]
            if spec.nested is not None and value is not None:
                if spec.array:
                    value = tuple(
                        v if isinstance(v, spec.nested) else build(spec.nested, v) for v in value
                    )
                elif not isinstance(value, spec.nested):
                    value = build(spec.nested, value)
            elif spec.array and value is not None:
                value = tuple(value)
            elif spec.kafka_type == "error_code" and not isinstance(value, ErrorCode):
                value = ErrorCode(int(value))
            elif spec.kafka_type == "timedelta_i32" and isinstance(value, int):
                value = datetime.timedelta(milliseconds=value)
        elif spec.default is not dataclasses.MISSING:
            value = spec.default
        elif spec.nested is not None:
            value = build(spec.nested, {})
        else:
            value = _ZERO.get(spec.kafka_type or "", None)
        kwargs[spec.name] = value
    return cls(**kwargs)


def has_field(cls: type, name: str) -> bool:
    return any(s.name == name for s in _specs(cls))
