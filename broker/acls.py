"""Kafka's ACL model, per organization: bindings, filters, and the authorizer's decision.

A binding names a resource (TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID; a LITERAL name, the
literal wildcard `*`, or a PREFIXED name), a principal (`User:<name>` or `User:*`), a host
(`*` or an address), an operation and ALLOW or DENY. The decision, as Kafka's authorizer
takes it:

- super-users pass: the platform admin, the organization's admin keys, the agent itself
  and, while no logins are configured, the anonymous caller of an open agent;
- a key's scope comes first: read-only keys may read and describe, read-write keys also
  write and create; deleting and altering is for admin keys (`authorize.py`);
- a resource no binding names is left to that scope (Kafka's
  `allow.everyone.if.no.acl.found=true`), so keys work before anyone writes an ACL;
- otherwise a matching DENY wins, then a matching ALLOW is needed. READ, WRITE, DELETE and
  ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL is every operation.

Decisions are synchronous (the produce path must not suspend before its appends): each
organization's bindings are cached, read when one of its principals logs in and refreshed
in the background every `RELOAD_S`, so a change made through another agent applies here
within that time (as Kafka's ACL propagation, eventually).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import structlog

from coordinator.acls import AclRow, AclStore

from . import errors
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

log = structlog.get_logger("streamhouse.acls")

RELOAD_S = 2.0
CLUSTER_NAME = "kafka-cluster"  # the one name of the CLUSTER resource, as Kafka's


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class Permission(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


Op = Operation
# The operations each resource type has (Kafka's AclEntry.supportedOperations).
SUPPORTED: dict[ResourceType, tuple[Operation, ...]] = {
    ResourceType.TOPIC: (Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE, Op.DELETE, Op.ALTER,
                         Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
    ResourceType.GROUP: (Op.READ, Op.DESCRIBE, Op.DELETE),
    ResourceType.CLUSTER: (Op.CREATE, Op.CLUSTER_ACTION, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS,
                           Op.IDEMPOTENT_WRITE, Op.ALTER, Op.DESCRIBE),
    ResourceType.TRANSACTIONAL_ID: (Op.DESCRIBE, Op.WRITE),
    ResourceType.DELEGATION_TOKEN: (Op.DESCRIBE,),
    ResourceType.USER: (Op.CREATE_TOKENS, Op.DESCRIBE_TOKENS),
}
# An ALLOW of any of these grants the operation (Kafka's implied operations).
_IMPLIED_BY: dict[Operation, frozenset[Operation]] = {
    Op.DESCRIBE: frozenset({Op.DESCRIBE, Op.READ, Op.WRITE, Op.DELETE, Op.ALTER, Op.ALL}),
    Op.DESCRIBE_CONFIGS: frozenset({Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS, Op.ALL}),
}
# Without an explicit value in a Describe* response: "not asked for" (Kafka's INT32_MIN).
OPERATIONS_NOT_ASKED = -(2**31)


@dataclass(frozen=True, slots=True, kw_only=True)
class AclBinding:
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str
    host: str
    operation: Operation
    permission: Permission

    def row(self) -> AclRow:
        return (int(self.resource_type), self.resource_name, int(self.pattern_type),
                self.principal, self.host, int(self.operation), int(self.permission))

    @classmethod
    def of(cls, row: AclRow) -> AclBinding:
        return cls(resource_type=ResourceType(row[0]), resource_name=row[1],
                   pattern_type=PatternType(row[2]), principal=row[3], host=row[4],
                   operation=Operation(row[5]), permission=Permission(row[6]))

    def names(self, name: str) -> bool:
        """Whether this binding's resource pattern covers the resource `name`."""
        if self.pattern_type == PatternType.PREFIXED:
            return name.startswith(self.resource_name)
        return self.resource_name in ("*", name)


@dataclass(frozen=True, slots=True, kw_only=True)
class AclFilter:
    """What DescribeAcls and DeleteAcls select; None and ANY match everything."""

    resource_type: ResourceType = ResourceType.ANY
    resource_name: str | None = None
    pattern_type: PatternType = PatternType.ANY
    principal: str | None = None
    host: str | None = None
    operation: Operation = Operation.ANY
    permission: Permission = Permission.ANY

    def matches(self, b: AclBinding) -> bool:
        if self.resource_type != ResourceType.ANY and b.resource_type != self.resource_type:
            return False
        if self.pattern_type == PatternType.MATCH:
            # The bindings that would apply to the named resource.
            if self.resource_name is not None and not b.names(self.resource_name):
                return False
        else:
            if self.pattern_type != PatternType.ANY and b.pattern_type != self.pattern_type:
                return False
            if self.resource_name is not None and b.resource_name != self.resource_name:
                return False
        if self.principal is not None and b.principal != self.principal:
            return False
        if self.host is not None and b.host != self.host:
            return False
        if self.operation != Operation.ANY and b.operation != self.operation:
            return False
        return self.permission == Permission.ANY or b.permission == self.permission

    def check(self) -> None:
        """Refuse a filter that cannot match anything the way Kafka does (INVALID_REQUEST)."""
        if ResourceType.UNKNOWN in (self.resource_type,) or self.pattern_type == PatternType.UNKNOWN:
            raise errors.InvalidRequest("the filter's resource or pattern type is unknown")
        if self.operation == Operation.UNKNOWN or self.permission == Permission.UNKNOWN:
            raise errors.InvalidRequest("the filter's operation or permission is unknown")


def check_binding(b: AclBinding) -> None:
    """Refuse a binding Kafka would refuse (INVALID_REQUEST with the reason)."""
    if b.resource_type in (ResourceType.ANY, ResourceType.UNKNOWN):
        raise errors.InvalidRequest("an ACL names one resource type, not ANY")
    if b.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        raise errors.InvalidRequest("an ACL's pattern type is LITERAL or PREFIXED")
    if b.operation in (Operation.ANY, Operation.UNKNOWN):
        raise errors.InvalidRequest("an ACL names one operation (or ALL), not ANY")
    if b.permission not in (Permission.ALLOW, Permission.DENY):
        raise errors.InvalidRequest("an ACL's permission is ALLOW or DENY")
    if not b.resource_name:
        raise errors.InvalidRequest("an ACL's resource name is empty")
    if b.pattern_type == PatternType.PREFIXED and b.resource_name == "*":
        raise errors.InvalidRequest("a PREFIXED pattern cannot be the wildcard '*'")
    if b.resource_type == ResourceType.CLUSTER and b.resource_name != CLUSTER_NAME:
        raise errors.InvalidRequest(f"the only name of the CLUSTER resource is {CLUSTER_NAME}")
    supported = SUPPORTED.get(b.resource_type, ())
    if b.operation != Operation.ALL and b.operation not in supported:
        raise errors.InvalidRequest(
            f"{b.resource_type.name} supports only "
            f"{', '.join(o.name for o in supported)} (and ALL), not {b.operation.name}")
    kind, _, name = b.principal.partition(":")
    if kind != "User" or not name:
        raise errors.InvalidRequest(f"principal {b.principal!r} is not User:<name> or User:*")
    if b.host != "*":
        try:
            ipaddress.ip_address(b.host)
        except ValueError:
            raise errors.InvalidRequest(f"host {b.host!r} is not '*' or an IP address") from None


def _peer_host(peer: str) -> str:
    """The address part of a peer `host:port` (or `[v6]:port`)."""
    if peer.startswith("["):
        return peer[1:].split("]", 1)[0]
    return peer.rsplit(":", 1)[0] if peer.count(":") == 1 else peer


class Acls:
    def __init__(self, broker: Broker, store: AclStore) -> None:
        self._b = broker
        self.store = store
        self._cache: dict[str, tuple[float, tuple[AclBinding, ...]]] = {}
        self._refreshing: set[str] = set()

    @property
    def enabled(self) -> bool:
        """ACLs apply while logins are on (without them, the ACL APIs answer
        SECURITY_DISABLED and every caller is the open agent's anonymous super-user)."""
        return self._b.tenants.enabled

    # -- the cache -----------------------------------------------------------------------

    async def ready(self, org_id: str) -> None:
        """Read the organization's bindings unless they are fresh (a login calls this, so
        the synchronous decisions after it have them)."""
        cached = self._cache.get(org_id)
        if cached is not None and time.monotonic() - cached[0] <= RELOAD_S:
            return
        await self._load(org_id)

    async def _load(self, org_id: str) -> None:
        try:
            rows = await self.store.all(org_id)
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._cache[org_id] = (time.monotonic(), tuple(AclBinding.of(r) for r in rows))

    def _bindings(self, org_id: str) -> tuple[AclBinding, ...] | None:
        cached = self._cache.get(org_id)
        if cached is None or time.monotonic() - cached[0] > RELOAD_S:
            self._refresh_soon(org_id)
        return cached[1] if cached is not None else None

    def _refresh_soon(self, org_id: str) -> None:
        if org_id in self._refreshing:
            return
        self._refreshing.add(org_id)
        task = asyncio.get_running_loop().create_task(self._load(org_id))

        def done(t: asyncio.Task[Any]) -> None:
            self._refreshing.discard(org_id)
            if not t.cancelled() and t.exception() is not None:
                log.warning("acl_refresh_failed", org=org_id, error=str(t.exception()))

        task.add_done_callback(done)

    # -- the decision --------------------------------------------------------------------

    def allows(self, ctx: RequestContext, op: Operation, rtype: ResourceType, name: str) -> bool:
        """Whether the organization's ACLs let the caller do `op` on the resource (the
        caller's scope is `authorize.py`'s to check first)."""
        if not self.enabled or ctx.principal.kind in ("platform_admin", "agent", "anonymous"):
            return True
        if ctx.principal.scope == "admin":
            return True  # the organization's admin keys are its super-users
        bindings = self._bindings(ctx.org_id)
        if bindings is None:
            # Never read (the login reads them): refuse rather than guess; the read is under way.
            log.warning("acls_not_loaded", org=ctx.org_id, principal=ctx.principal.name)
            return False
        matching = [b for b in bindings if b.resource_type == rtype and b.names(name)]
        if not matching:
            return True
        principals = (ctx.principal.kafka_name, "User:*")
        hosts = ("*", _peer_host(ctx.peer))
        mine = [b for b in matching if b.principal in principals and b.host in hosts]
        if any(b.permission == Permission.DENY and b.operation in (op, Operation.ALL)
               for b in mine):
            return False
        granting = _IMPLIED_BY.get(op, frozenset({op, Operation.ALL}))
        return any(b.permission == Permission.ALLOW and b.operation in granting for b in mine)

    # -- the ACL APIs --------------------------------------------------------------------

    def _require_enabled(self) -> None:
        if not self.enabled:
            raise errors.SecurityDisabled(
                "no ACL authorizer runs while logins are off: every port is open")

    async def describe(self, ctx: RequestContext, flt: AclFilter) -> list[AclBinding]:
        self._require_enabled()
        self._b.auth.require_cluster(ctx, Operation.DESCRIBE)
        flt.check()
        await self._load(ctx.org_id)
        return [b for b in self._cache[ctx.org_id][1] if flt.matches(b)]

    async def create(self, ctx: RequestContext, bindings: Iterable[AclBinding]
                     ) -> list[errors.BrokerError | None]:
        """Create the valid bindings; per binding, None or why it was refused."""
        self._require_enabled()
        self._b.auth.require_cluster(ctx, Operation.ALTER)
        rows = []
        verdicts: list[errors.BrokerError | None] = []
        for b in bindings:
            try:
                check_binding(b)
            except errors.BrokerError as exc:
                verdicts.append(exc)
                continue
            verdicts.append(None)
            rows.append(b.row())
        try:
            await self.store.add(ctx.org_id, rows)
        except Exception as exc:
            raise errors.translate(exc) from exc
        await self._load(ctx.org_id)
        log.info("acls_created", org=ctx.org_id, principal=ctx.principal.name, count=len(rows))
        return verdicts

    async def delete(self, ctx: RequestContext, filters: list[AclFilter]
                     ) -> list[list[AclBinding]]:
        """Delete what each filter matches; per filter, the bindings it removed."""
        self._require_enabled()
        self._b.auth.require_cluster(ctx, Operation.ALTER)
        for f in filters:
            f.check()
        await self._load(ctx.org_id)
        current = self._cache[ctx.org_id][1]
        matched = [[b for b in current if f.matches(b)] for f in filters]
        gone = {b for group in matched for b in group}
        try:
            await self.store.remove(ctx.org_id, [b.row() for b in gone])
        except Exception as exc:
            raise errors.translate(exc) from exc
        await self._load(ctx.org_id)
        log.info("acls_deleted", org=ctx.org_id, principal=ctx.principal.name, count=len(gone))
        return matched

    def authorized_operations(self, ctx: RequestContext, rtype: ResourceType, name: str) -> int:
        """The bit field of the operations the caller may do on the resource (Describe*'s
        `authorized_operations`: bit `1 << op`)."""
        bits = 0
        for op in SUPPORTED[rtype]:
            if self._b.auth.permits(ctx, op, rtype, name):
                bits |= 1 << int(op)
        return bits
