"""Build a kio message of any version from plain values.

Handlers describe a response once, as nested dicts with the field names of
Kafka's schemas; `build` keeps the fields the negotiated version has, fills
the ones it lacks with their defaults, and constructs kio's frozen
dataclasses. Requests are read with `getattr(request, name, default)`.

A key the negotiated version lacks is dropped only if some other version of
the message has it (so one description serves every version); a key that no
version has is a mistake, such as a misspelling, and raises `UnknownField`.
For a nested entity, "every version" means the entity of the same class name
in every version of the same API and direction (e.g. `PartitionProduceResponse`
in each `kio.schema.produce.v*.response`).
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import re
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

# Every code by its number; a member hashes and compares as its int, so it finds itself.
_ERROR_CODES: dict[object, ErrorCode] = {int(code): code for code in ErrorCode}

# Versions probed for each message family: kio 0.6.5 goes up to v18; missing ones are skipped.
_MAX_VERSION = 63
_VERSION_PART = re.compile(r"v\d+")

# How `build` converts a given value, decided once per field.
_PLAIN = 0  # as given
_ENTITY = 1  # a nested entity: dict -> dataclass
_ENTITIES = 2  # an array of nested entities
_ARRAY = 3  # an array of primitives: any iterable -> tuple
_ERROR_CODE = 4  # int -> ErrorCode
_TIMEDELTA = 5  # int milliseconds -> timedelta


class UnknownField(ValueError):
    """A key given to `build` is not a field of any version of the message."""

    def __init__(self, cls: type, key: object, known: tuple[str, ...]) -> None:
        self.cls = cls
        self.key = key
        self.known = known
        super().__init__(
            f"{cls.__module__}.{cls.__qualname__} has no field {key!r} in any version;"
            f" known fields: {', '.join(known)}"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    nested: type | None  # entity type, for nested entities and arrays of them
    array: bool
    optional: bool
    kafka_type: str | None
    default: Any  # the value of a field not given (dataclasses.MISSING: computed per call)
    kind: int


@dataclasses.dataclass(slots=True)
class _Plan:
    rows: tuple[tuple[str, int, type | None, Any], ...]  # name, kind, nested, default
    names: frozenset[str]  # this version's fields
    # The keys `build` accepts without a closer look: this version's fields at first, the
    # fields of every version once a key outside them has been seen (see `_check`).
    known: frozenset[str]
    widened: bool = False


def _unwrap(tp: Any) -> tuple[Any, bool]:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if args else tp), True
    return tp, False


def _kind(nested: type | None, array: bool, kafka_type: str | None) -> int:
    if nested is not None:
        return _ENTITIES if array else _ENTITY
    if array:
        return _ARRAY
    if kafka_type == "error_code":
        return _ERROR_CODE
    if kafka_type in ("timedelta_i32", "timedelta_i64"):
        return _TIMEDELTA
    return _PLAIN


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
        kafka_type: str | None = f.metadata.get("kafka_type")
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        elif optional:
            default = None
        elif array:
            default = ()
        elif nested is not None:
            default = dataclasses.MISSING  # built from {} when needed
        else:
            default = _ZERO.get(kafka_type or "", None)
        out.append(
            _Spec(f.name, nested, array, optional, kafka_type, default, _kind(nested, array, kafka_type))
        )
    return tuple(out)


def _family(cls: type) -> tuple[str, str] | None:
    """`kio.schema.produce.v9.response` -> (`kio.schema.produce`, `response`); also
    `kio.schema.request_header.v2.header` -> (`kio.schema.request_header`, `header`)."""
    parts = cls.__module__.split(".")
    if len(parts) < 3 or not _VERSION_PART.fullmatch(parts[-2]):
        return None
    return ".".join(parts[:-2]), parts[-1]


@cache
def _family_fields(family: str, direction: str, name: str) -> frozenset[str]:
    """The field names of the dataclass `name` in every version `family.v*.direction`."""
    names: set[str] = set()
    for n in range(_MAX_VERSION + 1):
        module_name = f"{family}.v{n}.{direction}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # This version does not exist; anything else missing is a broken install.
            if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
                continue
            raise
        other = getattr(module, name, None)
        if isinstance(other, type) and dataclasses.is_dataclass(other):
            names.update(f.name for f in dataclasses.fields(other))
    return frozenset(names)


def _make_plan(cls: type) -> _Plan:
    specs = _specs(cls)
    names = frozenset(s.name for s in specs)
    plan = _Plan(tuple((s.name, s.kind, s.nested, s.default) for s in specs), names, names)
    _PLANS[cls] = plan
    return plan


# The per-class cache. A dict rather than functools.cache: `build` looks its class up on
# every call, and functools.cache builds a key tuple for a `type` argument each time.
_PLANS: dict[type, _Plan] = {}


def _check(cls: type, plan: _Plan, values: dict[str, Any]) -> None:
    """`values` has a key that is no field of this version: all right if some other version
    has it, else `UnknownField`. The other versions are imported the first time only, so a
    class whose callers never pass such keys (say, the newest version) never pays for it."""
    if not plan.widened:
        family = _family(cls)
        if family is not None:
            plan.known = plan.names | _family_fields(*family, cls.__name__)
        plan.widened = True
    known = plan.known
    for key in values:
        if key not in known:
            raise UnknownField(cls, key, tuple(sorted(known)))


def build(cls: type, values: dict[str, Any]) -> Any:
    """Construct `cls` from `values`, recursively; see the module's docstring.

    Raises `UnknownField` for a key that is no field of any version of `cls`."""
    plan = _PLANS.get(cls) or _make_plan(cls)
    if not plan.known.issuperset(values):
        _check(cls, plan, values)
    kwargs: dict[str, Any] = {}
    for name, kind, nested, default in plan.rows:
        if name in values:
            value = values[name]
            if kind == _PLAIN:
                pass
            elif kind == _ERROR_CODE:
                code = _ERROR_CODES.get(value)  # ErrorCode(int(value)), but the Enum call is slow
                value = code if code is not None else ErrorCode(int(value))
            elif value is None:
                pass
            elif kind == _ENTITIES:
                assert nested is not None
                if value:
                    value = tuple(v if isinstance(v, nested) else build(nested, v) for v in value)
                else:
                    value = ()
            elif kind == _ENTITY:
                assert nested is not None
                if not isinstance(value, nested):
                    value = build(nested, value)
            elif kind == _ARRAY:
                value = tuple(value)
            elif kind == _TIMEDELTA and isinstance(value, int):
                value = datetime.timedelta(milliseconds=value)
        elif default is dataclasses.MISSING:
            assert nested is not None
            value = build(nested, {})
        else:
            value = default
        kwargs[name] = value
    return cls(**kwargs)


def has_field(cls: type, name: str) -> bool:
    """Whether this version of the message has the field."""
    return name in (_PLANS.get(cls) or _make_plan(cls)).names


__all__ = ["UnknownField", "build", "has_field"]
