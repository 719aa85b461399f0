"""The tenancy tables: organizations, API keys, SCRAM credentials. Pure SQL; the rules
(who may do what, how secrets are checked) live in `broker/tenants.py`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .sql import Driver, Row

ACTIVE, SUSPENDED, DELETED, PURGED = "active", "suspended", "deleted", "purged"
# An organization's rows beside its topics (which go through the segment log's deletion).
_ORG_TABLES = ("consumer_offsets", "consumer_groups", "group_coordinators", "registry_versions", "quotas",
               "registry_schemas", "registry_settings", "scram_credentials", "api_keys", "acls")


def _now() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Organization:
    id: str
    slug: str
    name: str
    plan: str
    status: str
    created_at: int
    deleted_at: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRow:
    id: str
    org_id: str
    scope: str
    description: str
    salt: str  # hex
    secret_hash: str
    scram: dict[str, dict[str, Any]]  # mechanism -> salt, iterations, stored_key, server_key (hex)
    created_at: int
    expires_at: int | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScramRow:
    username: str
    mechanism: str
    org_id: str
    salt: str
    iterations: int
    stored_key: str
    server_key: str


_ORG_COLS = "id, slug, name, plan, status, created_at, deleted_at"
_KEY_COLS = ("id, org_id, scope, description, salt, secret_hash, scram, created_at, expires_at,"
             " revoked_at")
_SCRAM_COLS = "username, mechanism, org_id, salt, iterations, stored_key, server_key"


def _org(r: Row) -> Organization:
    return Organization(id=r[0], slug=r[1], name=r[2], plan=r[3], status=r[4],
                        created_at=int(r[5]), deleted_at=None if r[6] is None else int(r[6]))


def _key(r: Row) -> ApiKeyRow:
    return ApiKeyRow(id=r[0], org_id=r[1], scope=r[2], description=r[3], salt=r[4],
                     secret_hash=r[5], scram=json.loads(r[6]), created_at=int(r[7]),
                     expires_at=None if r[8] is None else int(r[8]),
                     revoked_at=None if r[9] is None else int(r[9]))


def _scram(r: Row) -> ScramRow:
    return ScramRow(username=r[0], mechanism=r[1], org_id=r[2], salt=r[3],
                    iterations=int(r[4]), stored_key=r[5], server_key=r[6])


class NameTaken(Exception):
    """An organization slug, key id or SCRAM username that already exists."""


class TenantStore:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    # -- organizations ------------------------------------------------------------------

    async def create_org(self, org_id: str, slug: str, name: str, plan: str) -> Organization:
        async with self.driver.transaction() as tx:
            taken = await tx.fetchrow("SELECT 1 FROM organizations WHERE id = $1 OR slug = $2",
                                      org_id, slug)
            if taken is not None:
                raise NameTaken(f"an organization with slug {slug!r} already exists")
            await tx.execute(
                "INSERT INTO organizations (id, slug, name, plan, status, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)", org_id, slug, name, plan, ACTIVE, _now())
            row = await tx.fetchrow(f"SELECT {_ORG_COLS} FROM organizations WHERE id = $1", org_id)
        assert row is not None
        return _org(row)

    async def get_org(self, org_id: str) -> Organization | None:
        row = await self.driver.fetchrow(
            f"SELECT {_ORG_COLS} FROM organizations WHERE id = $1", org_id)
        return _org(row) if row else None

    async def list_orgs(self) -> list[Organization]:
        return [_org(r) for r in await self.driver.fetch(
            f"SELECT {_ORG_COLS} FROM organizations ORDER BY created_at, id")]

    async def update_org(self, org_id: str, *, name: str | None = None, plan: str | None = None,
                         status: str | None = None) -> Organization | None:
        async with self.driver.transaction() as tx:
            for column, value in (("name", name), ("plan", plan), ("status", status)):
                if value is not None:
                    await tx.execute(f"UPDATE organizations SET {column} = $1 WHERE id = $2",
                                     value, org_id)
            if status == DELETED:
                await tx.execute("UPDATE organizations SET deleted_at = $1 WHERE id = $2"
                                 " AND deleted_at IS NULL", _now(), org_id)
            row = await tx.fetchrow(f"SELECT {_ORG_COLS} FROM organizations WHERE id = $1", org_id)
        return _org(row) if row else None

    async def deleted_before(self, cutoff_ms: int) -> list[Organization]:
        """Organizations deleted before `cutoff_ms` whose data is still there."""
        return [_org(r) for r in await self.driver.fetch(
            f"SELECT {_ORG_COLS} FROM organizations WHERE status = $1 AND deleted_at < $2",
            DELETED, cutoff_ms)]

    async def purge_rows(self, org_id: str) -> None:
        """Remove an organization's groups, offsets, schemas and credentials, and mark it
        purged (its topics are removed beforehand, with their objects)."""
        async with self.driver.transaction() as tx:
            for table in _ORG_TABLES:
                await tx.execute(f"DELETE FROM {table} WHERE org_id = $1", org_id)
            await tx.execute("UPDATE organizations SET status = $1 WHERE id = $2", PURGED, org_id)

    # -- API keys -----------------------------------------------------------------------

    async def add_api_key(self, key: ApiKeyRow) -> None:
        await self.driver.execute(
            f"INSERT INTO api_keys ({_KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            key.id, key.org_id, key.scope, key.description, key.salt, key.secret_hash,
            json.dumps(key.scram), key.created_at, key.expires_at, key.revoked_at)

    async def api_key(self, key_id: str) -> ApiKeyRow | None:
        row = await self.driver.fetchrow(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = $1", key_id)
        return _key(row) if row else None

    async def api_keys(self, org_id: str) -> list[ApiKeyRow]:
        return [_key(r) for r in await self.driver.fetch(
            f"SELECT {_KEY_COLS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id", org_id)]

    async def revoke_api_key(self, org_id: str, key_id: str) -> bool:
        async with self.driver.transaction() as tx:
            row = await tx.fetchrow("SELECT revoked_at FROM api_keys WHERE org_id = $1 AND id = $2",
                                    org_id, key_id)
            if row is None:
                return False
            if row[0] is None:
                await tx.execute("UPDATE api_keys SET revoked_at = $1 WHERE id = $2", _now(), key_id)
        return True

    # -- the cluster's shared secret ------------------------------------------------------

    async def cluster_secret(self, candidate: str) -> str:
        """The secret agents sign their requests to one another with: `candidate` if no
        agent set one before (the first agent of a cluster), else the one set."""
        async with self.driver.transaction() as tx:
            await tx.execute("INSERT INTO cluster_settings (name, value) VALUES ('peer_secret', $1)"
                             " ON CONFLICT (name) DO NOTHING", candidate)
            row = await tx.fetchrow("SELECT value FROM cluster_settings WHERE name = 'peer_secret'")
        assert row is not None
        return str(row[0])

    # -- SCRAM users --------------------------------------------------------------------

    async def scram(self, username: str, mechanism: str) -> ScramRow | None:
        row = await self.driver.fetchrow(
            f"SELECT {_SCRAM_COLS} FROM scram_credentials WHERE username = $1 AND mechanism = $2",
            username, mechanism)
        return _scram(row) if row else None

    async def scram_users(self, org_id: str) -> list[ScramRow]:
        return [_scram(r) for r in await self.driver.fetch(
            f"SELECT {_SCRAM_COLS} FROM scram_credentials WHERE org_id = $1"
            " ORDER BY username, mechanism", org_id)]

    async def upsert_scram(self, row: ScramRow) -> None:
        """Set a user's credential for one mechanism; NameTaken if another organization has
        a user of that name."""
        async with self.driver.transaction() as tx:
            other = await tx.fetchrow(
                "SELECT org_id FROM scram_credentials WHERE username = $1 AND org_id <> $2",
                row.username, row.org_id)
            if other is not None:
                raise NameTaken(f"user {row.username!r} exists")
            await tx.execute("DELETE FROM scram_credentials WHERE username = $1 AND mechanism = $2",
                             row.username, row.mechanism)
            await tx.execute(
                f"INSERT INTO scram_credentials ({_SCRAM_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                row.username, row.mechanism, row.org_id, row.salt, row.iterations,
                row.stored_key, row.server_key)

    async def delete_scram(self, org_id: str, username: str, mechanism: str) -> bool:
        async with self.driver.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT 1 FROM scram_credentials WHERE org_id = $1 AND username = $2"
                " AND mechanism = $3", org_id, username, mechanism)
            if row is None:
                return False
            await tx.execute("DELETE FROM scram_credentials WHERE username = $1 AND mechanism = $2",
                             username, mechanism)
        return True
