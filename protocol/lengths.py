"""A check of every length and count in a request frame against the bytes that remain,
before kio decodes it. Sans-io: bytes in, a DecodeError or nothing out.

kio's native decoder reserves memory for an array from its announced count: a 17-byte
frame announcing 2^32-2 topics makes it reserve 34 GB, and a failed reservation aborts
the whole process. An array of n entries needs at least n bytes, a string or byte array
its length, so a frame that announces more than it holds is refused here, and only its
connection closes.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from functools import cache
from typing import Any

from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveTupleField,
    classify_field,
    get_field_tag,
)


class LengthError(ValueError):
    """A length or count in the frame is larger than what the frame holds."""


_FIXED = {
    "int8": 1, "bool": 1, "int16": 2, "uint16": 2, "error_code": 2, "int32": 4, "uint32": 4,
    "timedelta_i32": 4, "int64": 8, "uint64": 8, "float64": 8, "timedelta_i64": 8,
    "datetime_i64": 8, "uuid": 16,
}
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")

# A step reads one field at `pos` of `data` (not past `end`) and returns the next position.
Step = Callable[[bytes, int, int], int]


def _uvarint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise LengthError("the frame ends inside a varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 35:
            raise LengthError("a varint is longer than 5 bytes")


def _need(n: int, pos: int, end: int, what: str) -> None:
    if n > end - pos:
        raise LengthError(f"{what} of {n} exceeds the {end - pos} bytes left in the frame")


def _count(data: bytes, pos: int, end: int, compact: bool, what: str) -> tuple[int, int]:
    """An array count or a string/bytes length (-1 when null), checked against the rest."""
    if compact:
        n, pos = _uvarint(data, pos, end)
        n -= 1
    else:
        width = 2 if what == "string" else 4
        _need(width, pos, end, "a length prefix")
        n = (_I16 if width == 2 else _I32).unpack_from(data, pos)[0]
        pos += width
    if n < -1:
        raise LengthError(f"a negative {what} length ({n})")
    if n > 0:
        _need(n, pos, end, f"the {what} length")
    return n, pos


def _primitive(kafka_type: str, compact: bool) -> Step:
    size = _FIXED.get(kafka_type)
    if size is not None:
        def fixed(data: bytes, pos: int, end: int) -> int:
            _need(size, pos, end, "a field")
            return pos + size
        return fixed
    what = "string" if kafka_type == "string" else "bytes"

    def sized(data: bytes, pos: int, end: int) -> int:
        n, pos = _count(data, pos, end, compact, what)
        return pos + max(n, 0)
    return sized


def _array(element: Step, compact: bool, fixed: int | None = None) -> Step:
    """An array of `element`s; `fixed` is the element's size when it is the same for all."""
    if fixed is not None and fixed > 0:
        def fixed_array(data: bytes, pos: int, end: int) -> int:
            n, pos = _count(data, pos, end, compact, "array")
            if n > 0:
                _need(n * fixed, pos, end, f"an array of {n} entries of {fixed} bytes, length")
                pos += n * fixed
            return pos
        return fixed_array

    def array(data: bytes, pos: int, end: int) -> int:
        n, pos = _count(data, pos, end, compact, "array")
        for _ in range(n):
            pos = element(data, pos, end)
        return pos
    return array


@cache
def _fixed_size(cls: Any) -> int | None:
    """The encoded size of an entity whose fields are all fixed-size (None otherwise)."""
    if cls.__flexible__:
        return None  # its tagged-field section varies
    total = 0
    for field in dataclasses.fields(cls):
        kind = classify_field(field)
        if isinstance(kind, EntityField):
            inner = _fixed_size(kind.type_)
            if inner is None:
                return None
            total += inner
            continue
        size = _FIXED.get(field.metadata.get("kafka_type", ""))
        if size is None or kind.is_array:
            return None
        total += size
    return total


@cache
def _entity(cls: Any) -> Step:
    compact = bool(cls.__flexible__)
    inline: list[Step | int] = []  # steps, and runs of fixed-size fields as their size
    tagged: dict[int, Step] = {}
    for field in dataclasses.fields(cls):
        tag = get_field_tag(field)
        if tag is not None:
            tagged[int(tag)] = _field_step(field, compact)
            continue
        kind = classify_field(field)
        size = None if kind.is_array else _FIXED.get(field.metadata.get("kafka_type", ""))
        if size is not None and inline and isinstance(inline[-1], int):
            inline[-1] += size
        else:
            inline.append(size if size is not None else _field_step(field, compact))

    def entity(data: bytes, pos: int, end: int) -> int:
        for step in inline:
            if isinstance(step, int):
                _need(step, pos, end, "a field")
                pos += step
            else:
                pos = step(data, pos, end)
        if compact:
            if pos < end and data[pos] == 0:  # no tagged fields: the usual case
                return pos + 1
            pos = _tagged_fields(data, pos, end, tagged)
        return pos
    return entity


def _field_step(field: dataclasses.Field[Any], compact: bool) -> Step:
    kind = classify_field(field)
    if isinstance(kind, EntityField):
        return _entity(kind.type_)
    if isinstance(kind, EntityTupleField):
        return _array(_entity(kind.type_), compact, _fixed_size(kind.type_))
    kafka_type = field.metadata["kafka_type"]
    step = _primitive(kafka_type, compact)
    if isinstance(kind, PrimitiveTupleField):
        return _array(step, compact, _FIXED.get(kafka_type))
    return step


def _tagged_fields(data: bytes, pos: int, end: int, known: dict[int, Step]) -> int:
    n, pos = _uvarint(data, pos, end)
    _need(n, pos, end, "a tagged-field count")
    for _ in range(n):
        tag, pos = _uvarint(data, pos, end)
        size, pos = _uvarint(data, pos, end)
        _need(size, pos, end, "a tagged field")
        step = known.get(tag)
        if step is not None:
            step(data, pos, pos + size)  # its own lengths, within its own bytes
        pos += size
    return pos


def check_request(cls: Any, frame: bytes) -> None:
    """Raise LengthError if a length in the request (header v1/v2, then `cls`'s body) is
    larger than the bytes that remain."""
    end = len(frame)
    pos = 8  # api key, api version, correlation id
    n, pos = _count(frame, pos, end, False, "string")  # client_id: never compact (KIP-482)
    pos += max(n, 0)
    if cls.__flexible__:
        pos = _tagged_fields(frame, pos, end, {})
    _entity(cls)(frame, pos, end)
