"""The registry's rules: schema types, fingerprints, compatibility modes, modes, lookups.

The HTTP app (`app.py`) only maps Confluent's paths onto this; the tables are
`coordinator.registry.RegistryStore`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from coordinator.registry import GLOBAL as GLOBAL  # re-exported: the registry door uses them
from coordinator.registry import RegistryStore as RegistryStore
from coordinator.registry import StoredSchema, SubjectVersion

from .types import InvalidSchema, ParsedSchema, SchemaType

COMPATIBILITY_LEVELS = (
    "NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
    "FULL_TRANSITIVE",
)
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
DEFAULT_COMPATIBILITY = "BACKWARD"
DEFAULT_MODE = "READWRITE"


class RegistryError(Exception):
    """An answer in Confluent's terms: HTTP status, error_code, message."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: object) -> RegistryError:
    return RegistryError(404, 40402, f"Version {version} not found for subject '{subject}'.")


def schema_not_found(what: str = "Schema not found") -> RegistryError:
    return RegistryError(404, 40403, what)


@cache
def schema_types() -> dict[str, SchemaType]:
    from .avro_schema import AvroType
    from .json_schema import JsonSchemaType
    from .protobuf import ProtobufType

    kinds: list[SchemaType] = [AvroType(), JsonSchemaType(), ProtobufType()]
    return {k.name: k for k in kinds}


def schema_type(name: str | None) -> SchemaType:
    kind = (name or "AVRO").upper()
    types = schema_types()
    if kind not in types:
        raise RegistryError(422, 42201, f"Invalid schema type {name!r}: use one of {sorted(types)}")
    return types[kind]


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: SchemaType
    text: str
    references: list[dict[str, Any]]
    parsed: ParsedSchema

    @property
    def fingerprint(self) -> str:
        refs = json.dumps(sorted((str(r["name"]), str(r["subject"]), int(r["version"]))
                                 for r in self.references))
        return hashlib.sha256(f"{self.kind.name}\n{self.parsed.canonical}\n{refs}".encode()).hexdigest()


class Registry:
    def __init__(self, store: RegistryStore) -> None:
        self.store = store

    # -- parsing ----------------------------------------------------------------------

    async def candidate(self, body: dict[str, Any]) -> Candidate:
        text = body.get("schema")
        if not isinstance(text, str) or not text.strip():
            raise RegistryError(422, 42201, "Invalid schema: the body needs a non-empty 'schema' string")
        kind = schema_type(body.get("schemaType"))
        if kind.name == "PROTOBUF":
            from .protobuf_descriptor import from_serialized

            text = from_serialized(text) or text
        references = body.get("references") or []
        if not isinstance(references, list):
            raise RegistryError(422, 42201, "Invalid schema: 'references' must be a list")
        texts: dict[str, str] = {}
        for ref in references:
            if not isinstance(ref, dict) or not {"name", "subject", "version"} <= ref.keys():
                raise RegistryError(422, 42201, "Invalid schema: each reference needs name, subject and version")
            stored = await self._version(str(ref["subject"]), ref["version"])
            schema = await self.store.get_schema(stored.schema_id)
            assert schema is not None
            texts[str(ref["name"])] = schema.text
            # References of references, so named types resolve all the way down.
            texts.update(await self._reference_texts(schema))
        try:
            parsed = kind.parse(text, texts)
        except InvalidSchema as exc:
            raise RegistryError(422, 42201, str(exc)) from None
        return Candidate(kind, text, [dict(r) for r in references], parsed)

    async def reference_texts(self, schema: StoredSchema) -> dict[str, str]:
        """The texts of a schema's references, and theirs, by import name."""
        return await self._reference_texts(schema)

    async def _reference_texts(self, schema: StoredSchema) -> dict[str, str]:
        out: dict[str, str] = {}
        for ref in schema.references:
            v = await self._version(str(ref["subject"]), ref["version"])
            inner = await self.store.get_schema(v.schema_id)
            assert inner is not None
            out[str(ref["name"])] = inner.text
            out.update(await self._reference_texts(inner))
        return out

    async def text_of(self, schema: StoredSchema, fmt: str | None) -> str:
        """The schema as stored, or with `format=serialized` a Protobuf schema as a base64
        FileDescriptorProto (what Confluent's Protobuf deserializer asks for)."""
        if fmt != "serialized" or schema.schema_type != "PROTOBUF":
            return schema.text
        from .protobuf_descriptor import DescriptorError, to_serialized

        references = await self._reference_texts(schema)
        try:
            return await asyncio.to_thread(to_serialized, schema.text, references)
        except DescriptorError as exc:
            raise RegistryError(422, 42201, f"Invalid schema: {exc}") from None

    async def parse_stored(self, schema: StoredSchema) -> ParsedSchema:
        kind = schema_type(schema.schema_type)
        return kind.parse(schema.text, await self._reference_texts(schema))

    # -- versions ---------------------------------------------------------------------

    async def _version(self, subject: str, version: object, *, include_deleted: bool = False) -> SubjectVersion:
        versions = await self.store.versions(subject, include_deleted=include_deleted)
        if not versions:
            raise subject_not_found(subject)
        if version in ("latest", -1, "-1"):
            live = [v for v in versions if not v.deleted] or versions
            return live[-1]
        try:
            number = int(str(version))
        except ValueError:
            raise RegistryError(422, 42202, f"The specified version '{version}' is not a valid version id. "
                                "Allowed values are between [1, 2^31-1] and the string \"latest\"") from None
        if number < 1:
            raise RegistryError(422, 42202, f"The specified version '{version}' is not a valid version id.")
        for v in versions:
            if v.version == number:
                return v
        raise version_not_found(subject, number)

    async def version(self, subject: str, version: object, *, include_deleted: bool = False) -> SubjectVersion:
        return await self._version(subject, version, include_deleted=include_deleted)

    # -- settings ---------------------------------------------------------------------

    async def compatibility(self, subject: str | None) -> str:
        if subject:
            level = await self.store.get_setting(subject, "compatibility")
            if level:
                return level
        return await self.store.get_setting(GLOBAL, "compatibility") or DEFAULT_COMPATIBILITY

    async def mode(self, subject: str | None) -> str:
        if subject:
            mode = await self.store.get_setting(subject, "mode")
            if mode:
                return mode
        return await self.store.get_setting(GLOBAL, "mode") or DEFAULT_MODE

    async def require_writable(self, subject: str | None) -> None:
        if await self.mode(subject) == "READONLY":
            raise RegistryError(422, 42205, f"Subject {subject or '(global)'} is in read-only mode")

    # -- compatibility ----------------------------------------------------------------

    async def incompatibilities(
        self, subject: str, candidate: Candidate, *, level: str | None = None,
        against: list[SubjectVersion] | None = None,
    ) -> list[str]:
        level = level or await self.compatibility(subject)
        if level == "NONE":
            return []
        versions = against if against is not None else await self.store.versions(subject)
        if not level.endswith("_TRANSITIVE"):
            versions = versions[-1:]
        messages: list[str] = []
        for v in versions:
            stored = await self.store.get_schema(v.schema_id)
            assert stored is not None
            if stored.schema_type != candidate.kind.name:
                messages.append(f"version {v.version} is {stored.schema_type}, the new schema is {candidate.kind.name}")
                continue
            old = await self.parse_stored(stored)
            if level.startswith(("BACKWARD", "FULL")):
                messages += [f"{m} (the new schema cannot read data written with version {v.version})"
                             for m in candidate.parsed.incompatibilities(old)]
            if level.startswith(("FORWARD", "FULL")):
                messages += [f"{m} (version {v.version} cannot read data written with the new schema)"
                             for m in old.incompatibilities(candidate.parsed)]
        return messages

    async def register(self, subject: str, body: dict[str, Any]) -> int:
        await self.require_writable(subject)
        candidate = await self.candidate(body)
        if body.get("id") is not None or body.get("version") is not None:
            return await self._import(subject, candidate, body)
        existing = await self.store.schema_for_fingerprint(candidate.fingerprint)
        if existing is not None:
            for v in await self.store.versions(subject):
                if v.schema_id == existing:
                    return existing  # already registered here: no new version, no check
        problems = await self.incompatibilities(subject, candidate)
        if problems:
            level = await self.compatibility(subject)
            raise RegistryError(
                409, 409,
                f"Schema being registered is incompatible with an earlier schema for subject "
                f"\"{subject}\" ({level}): " + "; ".join(problems))
        schema_id, _version = await self.store.register(
            subject, candidate.kind.name, candidate.text, candidate.references, candidate.fingerprint)
        return schema_id

    async def _import(self, subject: str, candidate: Candidate, body: dict[str, Any]) -> int:
        """IMPORT mode: keep the ids and versions of a registry being migrated; no compatibility check."""
        if await self.mode(subject) != "IMPORT":
            raise RegistryError(422, 42205, "Registering with an explicit id or version needs IMPORT mode "
                                f"(PUT /mode/{subject} {{\"mode\": \"IMPORT\"}})")
        try:
            schema_id = int(body["id"]) if body.get("id") is not None else None
            version = int(body["version"]) if body.get("version") is not None else None
        except (TypeError, ValueError):
            raise RegistryError(422, 42202, "id and version must be integers") from None
        if schema_id is None or schema_id < 1 or (version is not None and version < 1):
            raise RegistryError(422, 42202, "an import needs a positive id (and, if given, a positive version)")
        found = await self.store.schema_for_fingerprint(candidate.fingerprint)
        if found is not None and found != schema_id:
            raise RegistryError(422, 42205, f"This schema is already registered with id {found}, not {schema_id}.")
        if found is None and await self.store.get_schema(schema_id) is not None:
            raise RegistryError(422, 42205, f"Overwrite new schema with id {schema_id} is not permitted.")
        await self.store.import_version(subject, version, schema_id, candidate.kind.name, candidate.text,
                                        candidate.references, candidate.fingerprint)
        return schema_id

    async def lookup(self, subject: str, body: dict[str, Any], *, include_deleted: bool = False) -> SubjectVersion:
        versions = await self.store.versions(subject, include_deleted=include_deleted)
        if not versions:
            raise subject_not_found(subject)
        candidate = await self.candidate(body)
        schema_id = await self.store.schema_for_fingerprint(candidate.fingerprint)
        for v in versions:
            if v.schema_id == schema_id:
                return v
        raise schema_not_found("Schema not found")
