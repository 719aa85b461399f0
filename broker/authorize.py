"""What a caller may do, decided once for every door: first its API key's scope, then the
organization's Kafka ACLs (`acls.py`).

Scopes: read-only keys may read and describe (topics, groups, configs); read-write keys
also write, create topics and produce idempotently; deleting and altering (topics, configs,
groups' offsets, ACLs, users) needs an admin key. An admin key is its organization's
super-user; the ACLs narrow what the other keys and SCRAM users may do.
"""

from __future__ import annotations

from . import errors
from .acls import Acls, Operation, ResourceType
from .context import RequestContext

Op = Operation
_READ_ONLY = frozenset({Op.READ, Op.DESCRIBE, Op.DESCRIBE_CONFIGS})
_SCOPES: dict[str, frozenset[Operation]] = {
    "read-only": _READ_ONLY,
    "read-write": _READ_ONLY | {Op.WRITE, Op.CREATE, Op.IDEMPOTENT_WRITE},
}


def scope_allows(ctx: RequestContext, op: Operation) -> bool:
    scope = ctx.principal.scope
    if scope is None or scope == "admin":
        return True
    return op in _SCOPES.get(scope, frozenset())


class Authorizer:
    def __init__(self, acls: Acls) -> None:
        self.acls = acls

    def permits(self, ctx: RequestContext, op: Operation, rtype: ResourceType, name: str) -> bool:
        return scope_allows(ctx, op) and self.acls.allows(ctx, op, rtype, name)

    def _why(self, ctx: RequestContext, op: Operation, what: str) -> str:
        who = ctx.principal.name
        if not scope_allows(ctx, op):
            return f"{who} ({ctx.principal.scope} key) may not {op.name} {what}"
        return f"{who} may not {op.name} {what} (ACLs)"

    def require_topic(self, ctx: RequestContext, op: Operation, topic: str) -> None:
        if not self.permits(ctx, op, ResourceType.TOPIC, topic):
            raise errors.TopicAuthorizationFailed(self._why(ctx, op, f"topic {topic!r}"))

    def require_group(self, ctx: RequestContext, op: Operation, group_id: str, *,
                      admin: bool = False) -> None:
        """`admin`: the operation also needs an admin key (moving a group's offsets)."""
        if admin and ctx.principal.scope not in (None, "admin"):
            raise errors.GroupAuthorizationFailed(
                f"{ctx.principal.name} ({ctx.principal.scope} key) may not move the offsets"
                f" of group {group_id!r}: that needs an admin key")
        if not self.permits(ctx, op, ResourceType.GROUP, group_id):
            raise errors.GroupAuthorizationFailed(self._why(ctx, op, f"group {group_id!r}"))

    def require_cluster(self, ctx: RequestContext, op: Operation) -> None:
        if not self.permits(ctx, op, ResourceType.CLUSTER, "kafka-cluster"):
            raise errors.ClusterAuthorizationFailed(self._why(ctx, op, "the cluster"))

    def require_transactional_id(self, ctx: RequestContext, op: Operation, tid: str) -> None:
        if not self.permits(ctx, op, ResourceType.TRANSACTIONAL_ID, tid):
            raise errors.TransactionalIdAuthorizationFailed(
                self._why(ctx, op, f"transactional id {tid!r}"))

    def may_create_topic(self, ctx: RequestContext, topic: str) -> bool:
        """Kafka: CREATE on the cluster, or on the topic."""
        return (self.permits(ctx, Op.CREATE, ResourceType.CLUSTER, "kafka-cluster")
                or self.permits(ctx, Op.CREATE, ResourceType.TOPIC, topic))

    def require_create_topic(self, ctx: RequestContext, topic: str) -> None:
        if not self.may_create_topic(ctx, topic):
            raise errors.TopicAuthorizationFailed(self._why(ctx, Op.CREATE, f"topic {topic!r}"))


__all__ = ["Authorizer", "Operation", "ResourceType", "scope_allows"]
