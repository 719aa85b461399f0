"""Values in the schema registry's wire format — magic byte 0, a 4-byte schema id, then
the payload (Protobuf: message indexes first) — read as JSON and written from JSON, for
the HTTP doors (the console's message browser and producer). Kafka clients do this
themselves with Confluent's serializers; these are the same bytes.

A schema is looked up in the caller's organization only: another organization's ids are
unknown here, as they are to its registry.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import io
import json
import struct
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .context import RequestContext
from .registry.scoped import ScopedRegistryStore, current_org
from .registry.service import Registry, RegistryError, RegistryStore

MAGIC = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Decoded:
    schema_id: int
    schema_type: str  # AVRO, JSON or PROTOBUF
    value: Any = None  # JSON-able
    error: str | None = None  # why it could not be read with its schema


def framed(data: bytes | None) -> tuple[int, bytes] | None:
    """(schema id, payload) of a value in the wire format, or None."""
    if data is None or len(data) < 5 or data[0] != MAGIC:
        return None
    return struct.unpack_from(">I", data, 1)[0], data[5:]


def jsonable(value: Any) -> Any:
    """What Avro and Protobuf decoders give, as JSON can carry it."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated message indexes")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos  # zigzag, as Confluent writes them
        shift += 7


class _Codec:
    def __init__(self, kind: str, decode: Callable[[bytes], Any],
                 encode: Callable[[Any], bytes]) -> None:
        self.kind, self.decode, self.encode = kind, decode, encode


def _avro(text: str, references: dict[str, str]) -> _Codec:
    import fastavro

    named: dict[str, Any] = {}
    for ref in references.values():
        fastavro.parse_schema(json.loads(ref), named_schemas=named)
    try:
        schema = fastavro.parse_schema(json.loads(text), named_schemas=named)
    except json.JSONDecodeError:
        schema = fastavro.parse_schema(text.strip(), named_schemas=named)  # a bare primitive

    def decode(payload: bytes) -> Any:
        return jsonable(fastavro.schemaless_reader(io.BytesIO(payload), schema, None))

    def encode(value: Any) -> bytes:
        from fastavro.validation import ValidationError, validate

        try:
            validate(value, schema, raise_errors=True)
        except ValidationError as exc:
            raise errors.InvalidRequest(f"the value does not match the Avro schema: {exc}") from None
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, value)
        return out.getvalue()

    return _Codec("AVRO", decode, encode)


def _json_schema(text: str, references: dict[str, str]) -> _Codec:
    from .registry.json_schema import validator as json_validator

    validator = json_validator(text, references)  # its $refs to references resolved

    def encode(value: Any) -> bytes:
        problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if problems:
            where = "/".join(str(p) for p in problems[0].absolute_path) or "(the value)"
            raise errors.InvalidRequest(
                f"the value does not match the JSON schema at {where}: {problems[0].message}")
        return json.dumps(value, separators=(",", ":")).encode()

    return _Codec("JSON", lambda payload: json.loads(payload), encode)


def _protobuf(text: str, references: dict[str, str]) -> _Codec:
    from google.protobuf import descriptor_pool, json_format, message_factory

    from .registry.protobuf_descriptor import MAIN, descriptor_set

    pool = descriptor_pool.DescriptorPool()
    for fdp in descriptor_set(text, references).file:
        pool.Add(fdp)
    file = pool.FindFileByName(MAIN)
    first = list(file.message_types_by_name.values())[0]

    def message_at(indexes: list[int]) -> Any:
        desc = list(file.message_types_by_name.values())[indexes[0]]
        for i in indexes[1:]:
            desc = desc.nested_types[i]
        return message_factory.GetMessageClass(desc)

    def decode(payload: bytes) -> Any:
        count, pos = _varint(payload, 0)
        indexes = [0]
        if count:
            indexes = []
            for _ in range(count):
                index, pos = _varint(payload, pos)
                indexes.append(index)
        message = message_at(indexes).FromString(payload[pos:])
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    def encode(value: Any) -> bytes:
        cls = message_factory.GetMessageClass(first)
        if not isinstance(value, dict):
            raise errors.InvalidRequest(
                f"a Protobuf value is a JSON object (the fields of {first.name}), not"
                f" {type(value).__name__}")
        try:
            message = json_format.ParseDict(value, cls())
        except (json_format.ParseError, TypeError, ValueError) as exc:
            raise errors.InvalidRequest(
                f"the value does not match the Protobuf message {first.name}: {exc}") from None
        data: bytes = message.SerializeToString()
        return b"\x00" + data  # message indexes [0]: the first message

    return _Codec("PROTOBUF", decode, encode)


_KINDS = {"AVRO": _avro, "JSON": _json_schema, "PROTOBUF": _protobuf}


class Serde:
    CODECS_KEPT = 256

    def __init__(self, store: RegistryStore) -> None:
        self._registry = Registry(ScopedRegistryStore(store))  # type: ignore[arg-type]
        self._codecs: OrderedDict[tuple[str, int], _Codec | str] = OrderedDict()

    async def _codec(self, ctx: RequestContext, schema_id: int) -> _Codec | str:
        """The codec of a schema of the caller's organization, or why there is none."""
        key = (ctx.org_id, schema_id)
        found = self._codecs.get(key)
        if found is not None:
            self._codecs.move_to_end(key)
            return found
        token = current_org.set(ctx.org_id)
        try:
            schema = await self._registry.store.get_schema(schema_id)
            if schema is None:
                return f"schema id {schema_id} is not registered"
            try:
                references = await self._registry.reference_texts(schema)
            except RegistryError as exc:  # a reference deleted since
                return f"schema id {schema_id} cannot be used: {exc.message}"
        finally:
            current_org.reset(token)
        try:
            codec: _Codec | str = _KINDS[schema.schema_type](schema.text, references)
        except Exception as exc:  # a stored schema the codec library refuses
            codec = f"schema id {schema_id} cannot be used: {type(exc).__name__}: {exc}"
        self._codecs[key] = codec
        while len(self._codecs) > self.CODECS_KEPT:
            self._codecs.popitem(last=False)
        return codec

    async def decode(self, ctx: RequestContext, data: bytes | None) -> Decoded | None:
        """A value in the wire format read with its schema; None if it is not framed."""
        split = framed(data)
        if split is None:
            return None
        schema_id, payload = split
        codec = await self._codec(ctx, schema_id)
        if isinstance(codec, str):
            return Decoded(schema_id=schema_id, schema_type="", error=codec)
        try:
            return Decoded(schema_id=schema_id, schema_type=codec.kind,
                           value=codec.decode(payload))
        except Exception as exc:  # bytes that do not match the schema they name
            return Decoded(schema_id=schema_id, schema_type=codec.kind,
                           error=f"not readable with schema {schema_id}: {exc}")

    async def encode(self, ctx: RequestContext, value: Any, *, schema_id: int | None = None,
                     subject: str | None = None, latest: dict[str, int] | None = None) -> bytes:
        """A JSON value written with a registered schema (an id, or a subject's latest;
        `latest` remembers subjects' latest ids across the records of one request)."""
        if schema_id is None:
            if not subject:
                raise errors.InvalidRequest("name a schema: a schema id or a subject")
            schema_id = (latest or {}).get(subject)
            if schema_id is None:
                token = current_org.set(ctx.org_id)
                try:
                    versions = await self._registry.store.versions(subject)
                finally:
                    current_org.reset(token)
                if not versions:
                    raise errors.InvalidRequest(f"subject {subject!r} has no schema registered")
                schema_id = versions[-1].schema_id
                if latest is not None:
                    latest[subject] = schema_id
        codec = await self._codec(ctx, schema_id)
        if isinstance(codec, str):
            raise errors.InvalidRequest(codec)
        try:
            payload = codec.encode(value)
        except errors.BrokerError:
            raise
        except Exception as exc:  # what a codec library raises on a value it cannot take
            raise errors.InvalidRequest(
                f"the value cannot be written with schema {schema_id}: {type(exc).__name__}: {exc}"
            ) from None
        return struct.pack(">bI", MAGIC, schema_id) + payload
