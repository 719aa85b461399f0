"""Avro: parsing with fastavro, compatibility with the `avro` package's checker.

The checker implements the Avro specification's schema resolution rules
(reader/writer), which is what Confluent's Avro compatibility modes are built on.
Named types may come from referenced schemas (Confluent's `references`).
"""

from __future__ import annotations

import json
from typing import Any

import avro.compatibility
import avro.errors
import avro.name
import avro.schema
import fastavro.schema

from .types import InvalidSchema, ParsedSchema

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _why(exc: Exception) -> str:
    kind = type(exc).__name__
    if kind == "UnknownType":
        return f"unknown type {exc}"
    return f"{kind}: {exc}" if kind not in ("SchemaParseException", "SchemaParseError") else str(exc)


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # A bare primitive name ("string") is valid Avro but not JSON.
        stripped = text.strip()
        if stripped in _PRIMITIVES:
            return stripped
        raise InvalidSchema(f"Invalid schema: not JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


class AvroSchema:
    def __init__(self, data: Any, parsed: avro.schema.Schema) -> None:
        self.data = data
        self.parsed = parsed

    @property
    def canonical(self) -> str:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))

    def incompatibilities(self, writer: ParsedSchema) -> list[str]:
        assert isinstance(writer, AvroSchema)
        checker = avro.compatibility.ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
        result = checker.get_compatibility(self.parsed, writer.parsed)
        if result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible:
            return []
        kinds = sorted(k.name for k in result.incompatibilities)
        where = sorted(result.locations)
        detail = "; ".join(sorted(str(m) for m in result.messages))
        fields = _fields_at_fault(self.parsed, writer.parsed)
        blame = f" (fields: {', '.join(fields)})" if fields else ""
        return [f"{', '.join(kinds)} at {', '.join(where) or '/'}{blame}: {detail}".rstrip(": ")]


def _fields_at_fault(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str]:
    """For two records, the reader fields that break resolution (the checker's locations are coarse)."""
    if not (isinstance(reader, avro.schema.RecordSchema) and isinstance(writer, avro.schema.RecordSchema)):
        return []
    written = {f.name: f for f in writer.fields}
    checker = avro.compatibility.ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    out = []
    for field in reader.fields:
        match = written.get(field.name)
        if match is None:
            if not field.has_default:
                out.append(f"{field.name} (new, without a default)")
            continue
        result = checker.get_compatibility(field.type, match.type)
        if result.compatibility is not avro.compatibility.SchemaCompatibilityType.compatible:
            out.append(f"{field.name} ({match.type} cannot be read as {field.type})")
    return out


class AvroType:
    name = "AVRO"

    def parse(self, text: str, references: dict[str, str]) -> AvroSchema:
        data = _load(text)
        names = avro.name.Names()
        named: dict[str, Any] = {}
        ref_name = ""
        try:
            for name, ref_text in references.items():
                ref_name = name  # named in the error below
                ref_data = _load(ref_text)
                fastavro.schema.parse_schema(ref_data, named_schemas=named)
                avro.schema.make_avsc_object(ref_data, names)
        except InvalidSchema as exc:
            raise InvalidSchema(f"reference {ref_name!r}: {exc}") from None
        except Exception as exc:
            raise InvalidSchema(f"Invalid schema in reference {ref_name!r}: {_why(exc)}") from None
        try:
            fastavro.schema.parse_schema(data, named_schemas=named)
            parsed = avro.schema.make_avsc_object(data, names)
        except Exception as exc:  # fastavro and avro raise several kinds; all mean "not valid"
            raise InvalidSchema(f"Invalid schema: {_why(exc)}") from None
        return AvroSchema(data, parsed)
