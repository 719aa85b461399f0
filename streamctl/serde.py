"""Values in the schema registry's wire format, read with their schemas on the client
(`topic consume --decode`), the way Confluent's deserializers do: magic byte 0, a 4-byte
schema id, then Avro binary, JSON text, or Protobuf message indexes and the message.
Schemas are fetched from the profile's registry once per id."""

from __future__ import annotations

import base64
import io
import json
import struct
from typing import Any

from .api import Api
from .errors import FAILED, CliError
from .paths import seg


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if type(value).__name__ in ("Decimal", "UUID"):
        return str(value)
    return value


def _zigzag(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


class Decoder:
    def __init__(self, registry: Api) -> None:
        self.registry = registry
        self._readers: dict[int, Any] = {}

    def decode(self, data: bytes | None) -> bytes | None:
        """The value as JSON text if it is registry-framed; else unchanged."""
        if data is None or len(data) < 5 or data[0] != 0:
            return data
        (schema_id,) = struct.unpack_from(">I", data, 1)
        reader = self._readers.get(schema_id)
        if reader is None:
            reader = self._readers[schema_id] = self._reader(schema_id)
        try:
            return json.dumps(_jsonable(reader(data[5:])), separators=(",", ":")).encode()
        except Exception as exc:
            raise CliError(f"a value names schema {schema_id} but does not match it: {exc}",
                           FAILED) from None

    def _reader(self, schema_id: int) -> Any:
        found = self.registry.get(f"/schemas/ids/{seg(schema_id)}")
        kind = found.get("schemaType", "AVRO")
        if kind == "JSON":
            return json.loads
        if kind == "AVRO":
            import fastavro

            named: dict[str, Any] = {}
            for ref in found.get("references") or []:
                v = self.registry.get(f"/subjects/{seg(ref['subject'])}/versions/{seg(ref['version'])}")
                fastavro.parse_schema(json.loads(v["schema"]), named_schemas=named)
            schema = fastavro.parse_schema(json.loads(found["schema"]), named_schemas=named)
            return lambda payload: fastavro.schemaless_reader(io.BytesIO(payload), schema, None)
        return self._protobuf(schema_id)

    def _protobuf(self, schema_id: int) -> Any:
        from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

        pool = descriptor_pool.DescriptorPool()
        added: set[str] = set()

        def add(fdp_b64: str, name: str, refs: list[dict[str, Any]]) -> Any:
            for ref in refs:
                if ref["name"] in added:
                    continue
                v = self.registry.get(f"/subjects/{seg(ref['subject'])}/versions/{seg(ref['version'])}",
                                      format="serialized")
                add(v["schema"], ref["name"], v.get("references") or [])
            fdp = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(fdp_b64))
            fdp.name = name
            for dep in fdp.dependency:  # well-known types come with protobuf itself
                if dep.startswith("google/protobuf/") and dep not in added:
                    import importlib

                    # google/protobuf/timestamp.proto is google.protobuf.timestamp_pb2's
                    importlib.import_module(dep.removesuffix(".proto").replace("/", ".") + "_pb2")
                    well_known = descriptor_pool.Default().FindFileByName(dep)
                    proto = descriptor_pb2.FileDescriptorProto()
                    well_known.CopyToProto(proto)
                    pool.Add(proto)
                    added.add(dep)
            added.add(name)
            return pool.Add(fdp)

        found = self.registry.get(f"/schemas/ids/{seg(schema_id)}", format="serialized")
        add(found["schema"], f"schema-{schema_id}.proto", found.get("references") or [])
        file = pool.FindFileByName(f"schema-{schema_id}.proto")
        top = list(file.message_types_by_name.values())

        def read(payload: bytes) -> Any:
            count, pos = _zigzag(payload, 0)
            indexes = [0] if count == 0 else []
            for _ in range(count):
                i, pos = _zigzag(payload, pos)
                indexes.append(i)
            desc = top[indexes[0]]
            for i in indexes[1:]:
                desc = desc.nested_types[i]
            msg = message_factory.GetMessageClass(desc).FromString(payload[pos:])
            return json_format.MessageToDict(msg, preserving_proto_field_name=True)

        return read
