"""What a caller may do, decided once for every door. Today by its API key's scope
(read-only: describe, read and consume; read-write: also produce and create topics; admin:
everything in its organization); Kafka's ACLs join here."""

from __future__ import annotations

from typing import Literal

from . import errors
from .context import RequestContext

Action = Literal["read", "write", "create", "admin"]
_ALLOWED: dict[str, frozenset[str]] = {
    "read-only": frozenset({"read"}),
    "read-write": frozenset({"read", "write", "create"}),
}


def allowed(ctx: RequestContext, action: Action) -> bool:
    scope = ctx.principal.scope
    if scope is None or scope == "admin":
        return True
    return action in _ALLOWED.get(scope, frozenset())


def require_topic(ctx: RequestContext, action: Action, topic: str) -> None:
    if not allowed(ctx, action):
        raise errors.TopicAuthorizationFailed(
            f"{ctx.principal.name} ({ctx.principal.scope}) may not {action} topic {topic!r}")


def require_group(ctx: RequestContext, action: Action, group_id: str) -> None:
    if not allowed(ctx, action):
        raise errors.GroupAuthorizationFailed(
            f"{ctx.principal.name} ({ctx.principal.scope}) may not {action} group {group_id!r}")
