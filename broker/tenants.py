"""Organizations, their API keys and SCRAM users, and logins: who a credential is.

Only a platform admin manages organizations; an organization's admin keys manage its own
keys and SCRAM users. A foreign organization, key or user answers exactly as an unknown
one (DESIGN.md §13). SCRAM user names are global (a SASL login names one principal), so an
organization's users are named `<slug>.<name>`: two organizations can never collide, and
a refused name tells nothing about another organization.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

from coordinator.tenants import (
    ACTIVE,
    DELETED,
    PURGED,
    SUSPENDED,
    ApiKeyRow,
    NameTaken,
    Organization,
    ScramRow,
    TenantStore,
)

from . import credentials as cr
from . import errors, metrics
from .context import Principal, RequestContext
from .sessions import Sessions

if TYPE_CHECKING:
    from .service import Broker
from .types import DEFAULT_ORG, OrgId

log = structlog.get_logger("streamhouse.tenants")

Scope = Literal["admin", "read-write", "read-only"]
SCOPES: tuple[Scope, ...] = ("admin", "read-write", "read-only")
PLATFORM_ADMIN = Principal(name="platform-admin", kind="platform_admin", scope="admin")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_KEY_CACHE_S = 2.0  # a revoked key stops working on HTTP within this

__all__ = ["ACTIVE", "DELETED", "PLATFORM_ADMIN", "SCOPES", "SUSPENDED", "ApiKey", "Login",
           "Organization", "Scope", "Tenants"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    id: str
    org_id: str
    scope: Scope
    description: str
    created_at: int
    expires_at: int | None
    revoked: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    org_id: str
    topics: int
    partitions: int
    records: int
    storage_bytes: int
    bytes_in: int  # through this agent since it started
    bytes_out: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Login:
    principal: Principal
    org_id: OrgId
    expires_at: int | None  # ms; the credential's own expiry (API key)


def _public(row: ApiKeyRow) -> ApiKey:
    return ApiKey(id=row.id, org_id=row.org_id, scope=row.scope,  # type: ignore[arg-type]
                  description=row.description, created_at=row.created_at,
                  expires_at=row.expires_at, revoked=row.revoked_at is not None)


class Tenants:
    def __init__(self, store: TenantStore, sessions: Sessions) -> None:
        self.store = store
        self.sessions = sessions
        self.admin_secret: str | None = None  # the platform admin's key, from configuration
        self._keys: dict[str, tuple[float, ApiKeyRow | None]] = {}

    # -- who may do this ------------------------------------------------------------------

    @staticmethod
    def require_platform_admin(ctx: RequestContext) -> None:
        if ctx.principal.kind != "platform_admin":
            raise errors.NotAuthorized("only the platform admin manages organizations")

    def _require_org_admin(self, ctx: RequestContext, org_id: str) -> None:
        if ctx.principal.kind == "platform_admin":
            return
        if ctx.org_id != org_id:
            raise errors.UnknownOrganization(f"organization {org_id!r} does not exist")
        if ctx.principal.scope != "admin":
            raise errors.NotAuthorized("managing keys needs an admin key of this organization")

    # -- organizations ----------------------------------------------------------------------

    async def create_org(self, ctx: RequestContext, slug: str, name: str | None = None,
                         plan: str = "free") -> Organization:
        self.require_platform_admin(ctx)
        if not _SLUG.match(slug):
            raise errors.InvalidRequest(
                "an organization slug is 1-63 lowercase letters, digits and '-', not starting"
                " or ending with '-'")
        try:
            org = await self.store.create_org(uuid.uuid4().hex[:16], slug, name or slug, plan)
        except NameTaken as exc:
            raise errors.AlreadyExists(str(exc)) from exc
        log.info("organization_created", org=org.id, slug=slug, principal=ctx.principal.name)
        return org

    async def get_org(self, ctx: RequestContext, org_id: str) -> Organization:
        if ctx.principal.kind != "platform_admin" and ctx.org_id != org_id:
            raise errors.UnknownOrganization(f"organization {org_id!r} does not exist")
        org = await self.store.get_org(org_id)
        if org is None or org.status in (DELETED, PURGED):
            raise errors.UnknownOrganization(f"organization {org_id!r} does not exist")
        return org

    async def list_orgs(self, ctx: RequestContext) -> list[Organization]:
        if ctx.principal.kind != "platform_admin":
            return [await self.get_org(ctx, ctx.org_id)]
        return [o for o in await self.store.list_orgs() if o.status not in (DELETED, PURGED)]

    async def update_org(self, ctx: RequestContext, org_id: str, *, name: str | None = None,
                         plan: str | None = None, status: str | None = None) -> Organization:
        self.require_platform_admin(ctx)
        if status is not None and status not in (ACTIVE, SUSPENDED):
            raise errors.InvalidRequest("status is active or suspended (DELETE deletes)")
        await self.get_org(ctx, org_id)
        org = await self.store.update_org(org_id, name=name, plan=plan, status=status)
        assert org is not None
        self._keys.clear()
        if status == SUSPENDED:
            log.info("organization_suspended", org=org_id, principal=ctx.principal.name)
            await self.sessions.end(org_id, "organization suspended")
        return org

    async def delete_org(self, ctx: RequestContext, org_id: str) -> Organization:
        """Mark an organization deleted: its logins stop at once and its connections close;
        its data goes after the grace period."""
        self.require_platform_admin(ctx)
        if org_id == DEFAULT_ORG:
            raise errors.InvalidRequest("the default organization cannot be deleted")
        await self.get_org(ctx, org_id)
        org = await self.store.update_org(org_id, status=DELETED)
        assert org is not None
        self._keys.clear()
        await self.sessions.end(org_id, "organization deleted")
        log.info("organization_deleted", org=org_id, principal=ctx.principal.name)
        return org

    async def purge_deleted(self, broker: Broker, grace_ms: int) -> int:
        """Remove the data of organizations deleted more than `grace_ms` ago: their topics
        (catalogue rows, then objects under their prefix), groups, offsets, schemas and
        credentials. Idempotent, so any agent may run it. The number purged."""
        purged = 0
        for org in await self.store.deleted_before(int(time.time() * 1000) - grace_ms):
            ctx = RequestContext(principal=PLATFORM_ADMIN, org_id=OrgId(org.id), door="internal")
            for topic in await broker.topics.list_topics(ctx):
                try:
                    await broker.topics.delete(ctx, topic.name)
                except errors.UnknownTopicOrPartition:
                    pass  # deleted meanwhile (by another agent's purge)
            await self.store.purge_rows(org.id)
            purged += 1
            log.info("organization_purged", org=org.id, slug=org.slug)
        return purged

    async def usage(self, ctx: RequestContext, broker: Broker, org_id: str) -> Usage:
        """An organization's topics, partitions and stored bytes (catalogue), and its record
        bytes in and out through this agent since it started."""
        org = await self.get_org(ctx, org_id)
        topics = await broker.catalogue.list_topics(OrgId(org.id))
        stored = records = partitions = 0
        for t in topics:
            for p in await broker.catalogue.list_partitions(t.id):
                partitions += 1
                stored += p.size_bytes
                records += p.high_watermark - p.log_start_offset
        bytes_in, bytes_out = metrics.org_totals(org.id)
        return Usage(org_id=org.id, topics=len(topics), partitions=partitions, records=records,
                     storage_bytes=stored, bytes_in=bytes_in, bytes_out=bytes_out)

    # -- API keys -----------------------------------------------------------------------------

    async def create_api_key(
        self, ctx: RequestContext, org_id: str, scope: Scope = "read-write",
        description: str = "", expires_at: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key of the organization and its secret (shown once, never stored)."""
        self._require_org_admin(ctx, org_id)
        await self.get_org(RequestContext(principal=PLATFORM_ADMIN, org_id=OrgId(org_id),
                                          door=ctx.door), org_id)
        if scope not in SCOPES:
            raise errors.InvalidRequest(f"scope is one of {', '.join(SCOPES)}")
        if expires_at is not None and expires_at <= int(time.time() * 1000):
            raise errors.InvalidRequest("expires_at is in the past")
        secret = cr.new_secret()
        salt = secrets.token_bytes(16)
        scram = {}
        for mechanism in cr.MECHANISMS:
            c = cr.scram_credential(secret, mechanism)  # type: ignore[arg-type]
            scram[mechanism] = {"salt": c.salt.hex(), "iterations": c.iterations,
                                "stored_key": c.stored_key.hex(), "server_key": c.server_key.hex()}
        row = ApiKeyRow(id=cr.new_key_id(), org_id=org_id, scope=scope, description=description,
                        salt=salt.hex(), secret_hash=cr.hash_secret(secret, salt), scram=scram,
                        created_at=int(time.time() * 1000), expires_at=expires_at,
                        revoked_at=None)
        await self.store.add_api_key(row)
        log.info("api_key_created", org=org_id, key=row.id, scope=scope,
                 principal=ctx.principal.name)
        return _public(row), secret

    async def list_api_keys(self, ctx: RequestContext, org_id: str) -> list[ApiKey]:
        self._require_org_admin(ctx, org_id)
        return [_public(r) for r in await self.store.api_keys(org_id)]

    async def revoke_api_key(self, ctx: RequestContext, org_id: str, key_id: str) -> None:
        self._require_org_admin(ctx, org_id)
        if not await self.store.revoke_api_key(org_id, key_id):
            raise errors.UnknownApiKey(f"API key {key_id!r} does not exist")
        self._keys.pop(key_id, None)
        await self.sessions.end_key(key_id, "API key revoked")
        log.info("api_key_revoked", org=org_id, key=key_id, principal=ctx.principal.name)

    # -- logins ----------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether logins are asked for (a platform admin key is configured)."""
        return self.admin_secret is not None

    async def _key(self, key_id: str) -> ApiKeyRow | None:
        now = time.monotonic()
        hit = self._keys.get(key_id)
        if hit is not None and now - hit[0] < _KEY_CACHE_S:
            return hit[1]
        row = await self.store.api_key(key_id)
        if len(self._keys) > 100_000:
            self._keys.clear()
        self._keys[key_id] = (now, row)
        return row

    async def _usable(self, row: ApiKeyRow | None) -> Organization | None:
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= int(time.time() * 1000):
            return None
        org = await self.store.get_org(row.org_id)
        return org if org is not None and org.status == ACTIVE else None

    async def login_with_secret(self, key_id: str, secret: str) -> Login:
        """An API key id and its secret (SASL/PLAIN, HTTP Bearer or Basic)."""
        if self.admin_secret is not None and key_id in ("admin", "platform-admin"):
            if hmac.compare_digest(secret.encode(), self.admin_secret.encode()):
                return Login(principal=PLATFORM_ADMIN, org_id=DEFAULT_ORG, expires_at=None)
            raise errors.AuthenticationFailed("authentication failed: invalid credentials")
        row = await self._key(key_id)
        org = await self._usable(row)
        if row is None or org is None or not cr.secret_matches(secret, bytes.fromhex(row.salt),
                                                               row.secret_hash):
            raise errors.AuthenticationFailed("authentication failed: invalid credentials")
        return Login(principal=Principal(name=row.id, kind="api_key", scope=row.scope),
                     org_id=OrgId(row.org_id), expires_at=row.expires_at)

    async def login_with_token(self, token: str) -> Login:
        """HTTP `Authorization: Bearer <key id>:<secret>` or `Bearer <platform admin secret>`."""
        key_id, sep, secret = token.partition(":")
        if not sep:
            return await self.login_with_secret("admin", token)
        return await self.login_with_secret(key_id, secret)

    async def scram_credential(self, username: str, mechanism: str
                               ) -> tuple[cr.ScramCredential, Login] | None:
        """The SCRAM credential of a login name (an API key id, or a SCRAM user)."""
        row = await self._key(username)
        if row is not None:
            org = await self._usable(row)
            stored = row.scram.get(mechanism)
            if org is None or stored is None:
                return None
            cred = cr.ScramCredential(
                mechanism=mechanism,  # type: ignore[arg-type]
                salt=bytes.fromhex(stored["salt"]), iterations=int(stored["iterations"]),
                stored_key=bytes.fromhex(stored["stored_key"]),
                server_key=bytes.fromhex(stored["server_key"]))
            return cred, Login(principal=Principal(name=row.id, kind="api_key", scope=row.scope),
                               org_id=OrgId(row.org_id), expires_at=row.expires_at)
        user = await self.store.scram(username, mechanism)
        if user is None:
            return None
        org = await self.store.get_org(user.org_id)
        if org is None or org.status != ACTIVE:
            return None
        cred = cr.ScramCredential(
            mechanism=mechanism,  # type: ignore[arg-type]
            salt=bytes.fromhex(user.salt), iterations=user.iterations,
            stored_key=bytes.fromhex(user.stored_key), server_key=bytes.fromhex(user.server_key))
        return cred, Login(principal=Principal(name=username, kind="scram_user", scope="read-write"),
                           org_id=OrgId(user.org_id), expires_at=None)

    async def still_valid(self, login: Login) -> bool:
        """Whether a login's credential still stands (re-checked at re-authentication)."""
        if login.principal.kind == "platform_admin":
            return True
        if login.principal.kind == "api_key":
            self._keys.pop(login.principal.name, None)
            return await self._usable(await self._key(login.principal.name)) is not None
        org = await self.store.get_org(login.org_id)
        return org is not None and org.status == ACTIVE

    # -- SCRAM users (KIP-554) ---------------------------------------------------------------

    async def scram_users(self, ctx: RequestContext,
                          names: list[str] | None = None) -> dict[str, list[ScramRow]]:
        """The organization's SCRAM users (those named, or all) and their mechanisms; a name
        that is not one of its users maps to no rows."""
        authorize_admin(ctx)
        rows = await self.store.scram_users(ctx.org_id)
        out: dict[str, list[ScramRow]] = {}
        if names is None:
            for r in rows:
                out.setdefault(r.username, []).append(r)
            return out
        for name in names:
            out[name] = [r for r in rows if r.username == name]
        return out

    async def upsert_scram_user(self, ctx: RequestContext, username: str, mechanism: str,
                                iterations: int, salt: bytes, salted_password: bytes) -> None:
        """Set a SCRAM user's credential from its salted password (KIP-554)."""
        authorize_admin(ctx)
        org = await self.store.get_org(ctx.org_id)
        assert org is not None
        if not username.startswith(f"{org.slug}."):
            raise errors.InvalidRequest(
                f"SCRAM user names of organization {org.slug!r} start with {org.slug + '.'!r}"
                " (login names are global)")
        if mechanism not in cr.MECHANISMS:
            raise errors.UnsupportedSaslMechanism(f"unknown SCRAM mechanism {mechanism}")
        if not cr.MIN_ITERATIONS <= iterations <= cr.MAX_ITERATIONS:
            raise errors.UnacceptableCredential(
                f"iterations must be between {cr.MIN_ITERATIONS} and {cr.MAX_ITERATIONS}")
        if not salt or not salted_password:
            raise errors.UnacceptableCredential("salt and salted password must not be empty")
        c = cr.scram_from_salted(salted_password, mechanism,  # type: ignore[arg-type]
                                 salt=salt, iterations=iterations)
        try:
            await self.store.upsert_scram(ScramRow(
                username=username, mechanism=mechanism, org_id=ctx.org_id, salt=c.salt.hex(),
                iterations=c.iterations, stored_key=c.stored_key.hex(),
                server_key=c.server_key.hex()))
        except NameTaken as exc:  # cannot happen across organizations (the slug prefix)
            raise errors.UnacceptableCredential(str(exc)) from exc
        log.info("scram_user_set", org=ctx.org_id, user=username, mechanism=mechanism,
                 principal=ctx.principal.name)

    async def delete_scram_user(self, ctx: RequestContext, username: str, mechanism: str) -> None:
        authorize_admin(ctx)
        if not await self.store.delete_scram(ctx.org_id, username, mechanism):
            raise errors.ResourceNotFound(f"user {username!r} has no {mechanism} credential")
        await self.sessions.end_key(username, "SCRAM credential deleted")
        log.info("scram_user_deleted", org=ctx.org_id, user=username, mechanism=mechanism,
                 principal=ctx.principal.name)


def authorize_admin(ctx: RequestContext) -> None:
    """Organization administration: its admin keys, the platform admin, or the open agent."""
    if ctx.principal.scope not in (None, "admin"):
        raise errors.NotAuthorized(
            f"{ctx.principal.name} ({ctx.principal.scope}) may not manage credentials")
