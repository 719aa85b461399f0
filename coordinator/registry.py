"""The schema registry's tables: schemas (one id per distinct schema), subject versions,
and per-subject or global settings (compatibility, mode). Pure SQL; the rules live in
`streamhouse/registry/`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .sql import Driver, Session

DEFAULT_ORG = "default"
GLOBAL = ""  # the subject name under which global settings are kept


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSchema:
    id: int
    schema_type: str
    text: str
    references: list[dict[str, object]]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectVersion:
    subject: str
    version: int
    schema_id: int
    deleted: bool


async def _serialize_registrations(tx: Session, org_id: str) -> None:
    """One registration at a time per tenant, across agents: two agents registering the
    same new schema, or two new versions of one subject, would otherwise both read "not
    there yet" and collide on the fingerprint or the version number. SQLite transactions
    are serialized already; on PostgreSQL a transaction-scoped advisory lock does it."""
    if tx.dialect == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(hashtext('registry:' || $1::text))", org_id)


class RegistryStore:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def schema_for_fingerprint(self, fingerprint: str, org_id: str = DEFAULT_ORG) -> int | None:
        row = await self.driver.fetchrow(
            "SELECT id FROM registry_schemas WHERE org_id = $1 AND fingerprint = $2", org_id, fingerprint)
        return int(row[0]) if row else None

    async def register(
        self, subject: str, schema_type: str, text: str, references: list[dict[str, object]],
        fingerprint: str, org_id: str = DEFAULT_ORG,
    ) -> tuple[int, int]:
        """Store the schema (or find it) and add it as the subject's next version: (id, version)."""
        now = int(time.time() * 1000)
        async with self.driver.transaction() as tx:
            await _serialize_registrations(tx, org_id)
            row = await tx.fetchrow(
                "SELECT id FROM registry_schemas WHERE org_id = $1 AND fingerprint = $2",
                org_id, fingerprint)
            if row is None:
                counter = await tx.fetchrow(
                    "UPDATE counters SET value = value + 1 WHERE name = 'schema_id' RETURNING value")
                assert counter is not None
                schema_id = int(counter[0])
                await tx.execute(
                    "INSERT INTO registry_schemas (id, org_id, schema_type, schema_text,"
                    " references_json, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    schema_id, org_id, schema_type, text, json.dumps(references), fingerprint, now)
            else:
                schema_id = int(row[0])
            existing = await tx.fetchrow(
                "SELECT version FROM registry_versions WHERE org_id = $1 AND subject = $2"
                " AND schema_id = $3 AND deleted = 0", org_id, subject, schema_id)
            if existing is not None:
                return schema_id, int(existing[0])
            top = await tx.fetchrow(
                "SELECT COALESCE(MAX(version), 0) FROM registry_versions WHERE org_id = $1 AND subject = $2",
                org_id, subject)
            version = int(top[0]) + 1 if top else 1
            await tx.execute(
                "INSERT INTO registry_versions (org_id, subject, version, schema_id, deleted, created_at)"
                " VALUES ($1, $2, $3, $4, 0, $5)", org_id, subject, version, schema_id, now)
        return schema_id, version

    async def import_version(
        self, subject: str, version: int | None, schema_id: int, schema_type: str, text: str,
        references: list[dict[str, object]], fingerprint: str, org_id: str = DEFAULT_ORG,
    ) -> int:
        """Store a schema under a given id (and a subject version), as an import keeps them."""
        now = int(time.time() * 1000)
        async with self.driver.transaction() as tx:
            await _serialize_registrations(tx, org_id)
            if await tx.fetchrow("SELECT 1 FROM registry_schemas WHERE org_id = $1 AND id = $2",
                                 org_id, schema_id) is None:
                await tx.execute(
                    "INSERT INTO registry_schemas (id, org_id, schema_type, schema_text,"
                    " references_json, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    schema_id, org_id, schema_type, text, json.dumps(references), fingerprint, now)
            # New ids are allocated above every imported one.
            await tx.execute(
                "UPDATE counters SET value = $1 WHERE name = 'schema_id' AND value < $1", schema_id)
            if version is None:
                top = await tx.fetchrow(
                    "SELECT COALESCE(MAX(version), 0) FROM registry_versions WHERE org_id = $1 AND subject = $2",
                    org_id, subject)
                version = int(top[0]) + 1 if top else 1
            await tx.execute(
                "INSERT INTO registry_versions (org_id, subject, version, schema_id, deleted, created_at)"
                " VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (org_id, subject, version) DO UPDATE SET"
                " schema_id = excluded.schema_id, deleted = 0",
                org_id, subject, version, schema_id, now)
        return version

    async def get_schema(self, schema_id: int, org_id: str = DEFAULT_ORG) -> StoredSchema | None:
        row = await self.driver.fetchrow(
            "SELECT id, schema_type, schema_text, references_json FROM registry_schemas"
            " WHERE org_id = $1 AND id = $2", org_id, schema_id)
        if row is None:
            return None
        return StoredSchema(id=int(row[0]), schema_type=str(row[1]), text=str(row[2]),
                            references=json.loads(row[3]))

    async def versions(
        self, subject: str, *, include_deleted: bool = False, org_id: str = DEFAULT_ORG
    ) -> list[SubjectVersion]:
        rows = await self.driver.fetch(
            "SELECT version, schema_id, deleted FROM registry_versions WHERE org_id = $1 AND subject = $2"
            " ORDER BY version", org_id, subject)
        return [SubjectVersion(subject=subject, version=int(r[0]), schema_id=int(r[1]), deleted=bool(r[2]))
                for r in rows if include_deleted or not r[2]]

    async def subjects(self, *, include_deleted: bool = False, org_id: str = DEFAULT_ORG) -> list[str]:
        cond = "" if include_deleted else " AND deleted = 0"
        rows = await self.driver.fetch(
            f"SELECT DISTINCT subject FROM registry_versions WHERE org_id = $1{cond} ORDER BY subject", org_id)
        return [str(r[0]) for r in rows]

    async def uses_of_schema(self, schema_id: int, *, include_deleted: bool = False,
                             org_id: str = DEFAULT_ORG) -> list[SubjectVersion]:
        rows = await self.driver.fetch(
            "SELECT subject, version, deleted FROM registry_versions WHERE org_id = $1 AND schema_id = $2"
            " ORDER BY subject, version", org_id, schema_id)
        return [SubjectVersion(subject=str(r[0]), version=int(r[1]), schema_id=schema_id, deleted=bool(r[2]))
                for r in rows if include_deleted or not r[2]]

    async def referenced_by(self, subject: str, version: int, org_id: str = DEFAULT_ORG) -> list[int]:
        rows = await self.driver.fetch(
            "SELECT id, references_json FROM registry_schemas WHERE org_id = $1 AND references_json != '[]'"
            " ORDER BY id", org_id)
        out = []
        for schema_id, refs in rows:
            for ref in json.loads(refs):
                if ref.get("subject") == subject and int(ref.get("version", -1)) == version:
                    out.append(int(schema_id))
                    break
        return out

    async def delete_version(self, subject: str, version: int, *, permanent: bool,
                             org_id: str = DEFAULT_ORG) -> None:
        if permanent:
            await self.driver.execute(
                "DELETE FROM registry_versions WHERE org_id = $1 AND subject = $2 AND version = $3",
                org_id, subject, version)
        else:
            await self.driver.execute(
                "UPDATE registry_versions SET deleted = 1 WHERE org_id = $1 AND subject = $2 AND version = $3",
                org_id, subject, version)

    async def delete_subject(self, subject: str, *, permanent: bool, org_id: str = DEFAULT_ORG) -> None:
        async with self.driver.transaction() as tx:
            if permanent:
                await tx.execute(
                    "DELETE FROM registry_versions WHERE org_id = $1 AND subject = $2", org_id, subject)
                await tx.execute(
                    "DELETE FROM registry_settings WHERE org_id = $1 AND subject = $2", org_id, subject)
            else:
                await tx.execute(
                    "UPDATE registry_versions SET deleted = 1 WHERE org_id = $1 AND subject = $2",
                    org_id, subject)

    async def get_setting(self, subject: str, kind: str, org_id: str = DEFAULT_ORG) -> str | None:
        row = await self.driver.fetchrow(
            "SELECT value FROM registry_settings WHERE org_id = $1 AND subject = $2 AND kind = $3",
            org_id, subject, kind)
        return str(row[0]) if row else None

    async def set_setting(self, subject: str, kind: str, value: str, org_id: str = DEFAULT_ORG) -> None:
        await self.driver.execute(
            "INSERT INTO registry_settings (org_id, subject, kind, value) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (org_id, subject, kind) DO UPDATE SET value = excluded.value",
            org_id, subject, kind, value)

    async def delete_setting(self, subject: str, kind: str, org_id: str = DEFAULT_ORG) -> None:
        await self.driver.execute(
            "DELETE FROM registry_settings WHERE org_id = $1 AND subject = $2 AND kind = $3",
            org_id, subject, kind)
