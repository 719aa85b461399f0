"""Kafka's ACL decision, as broker/acls.py takes it: patterns, DENY over ALLOW, implied
operations, scopes first, super-users, and what filters select."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from broker import errors
from broker.acls import (
    AclBinding,
    AclFilter,
    Acls,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    check_binding,
)
from broker.authorize import Authorizer
from broker.context import Principal, RequestContext
from coordinator.catalogue import OrgId

T, G, C = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
ALLOW, DENY = Permission.ALLOW, Permission.DENY
Op = Operation


def acl(rtype: ResourceType, name: str, op: Operation, perm: Permission = ALLOW, *,
        pattern: PatternType = LIT, principal: str = "User:alice", host: str = "*") -> AclBinding:
    return AclBinding(resource_type=rtype, resource_name=name, pattern_type=pattern,
                      principal=principal, host=host, operation=op, permission=perm)


def ctx(name: str = "alice", scope: str = "read-write", kind: str = "api_key",
        org: str = "o1", peer: str = "10.0.0.5:5555") -> RequestContext:
    return RequestContext(principal=Principal(name=name, kind=kind, scope=scope),  # type: ignore[arg-type]
                          org_id=OrgId(org), door="kafka", peer=peer)


def authorizer(*bindings: AclBinding, enabled: bool = True, org: str = "o1") -> Authorizer:
    broker = SimpleNamespace(tenants=SimpleNamespace(enabled=enabled))
    acls = Acls(broker, store=None)  # type: ignore[arg-type]
    acls._cache[org] = (time.monotonic() + 3600, tuple(bindings))
    auth = Authorizer(acls)
    broker.auth = auth
    broker.acls = acls
    return auth


def test_a_resource_no_acl_names_is_left_to_the_scope() -> None:
    auth = authorizer(acl(T, "payments", Op.WRITE))
    assert auth.permits(ctx(), Op.WRITE, T, "orders")
    assert not auth.permits(ctx(scope="read-only"), Op.WRITE, T, "orders")
    assert auth.permits(ctx(scope="read-only"), Op.READ, T, "orders")
    # Deleting and altering is an admin key's, whatever the ACLs.
    assert not auth.permits(ctx(), Op.DELETE, T, "orders")


def test_once_a_resource_is_named_an_allow_is_needed() -> None:
    auth = authorizer(acl(T, "payments", Op.WRITE))
    assert auth.permits(ctx(), Op.WRITE, T, "payments")
    assert not auth.permits(ctx(name="bob"), Op.WRITE, T, "payments")
    assert not auth.permits(ctx(), Op.READ, T, "payments")  # WRITE does not grant READ


def test_deny_wins_over_allow_and_all() -> None:
    auth = authorizer(acl(T, "*", Op.ALL), acl(T, "pay", Op.WRITE, DENY, pattern=PRE))
    assert auth.permits(ctx(), Op.WRITE, T, "orders")
    assert not auth.permits(ctx(), Op.WRITE, T, "payments")
    assert auth.permits(ctx(), Op.READ, T, "payments")  # the DENY names WRITE only
    deny_all = authorizer(acl(T, "orders", Op.READ), acl(T, "orders", Op.ALL, DENY))
    assert not deny_all.permits(ctx(), Op.READ, T, "orders")


def test_read_write_delete_alter_imply_describe() -> None:
    for op in (Op.READ, Op.WRITE, Op.DELETE, Op.ALTER):
        auth = authorizer(acl(T, "orders", op))
        assert auth.permits(ctx(scope="admin", kind="scram_user", name="alice"),
                            Op.DESCRIBE, T, "orders")
        assert auth.permits(ctx(), Op.DESCRIBE, T, "orders"), op
    configs = authorizer(acl(T, "orders", Op.ALTER_CONFIGS))
    assert configs.permits(ctx(), Op.DESCRIBE_CONFIGS, T, "orders")
    # DESCRIBE does not imply READ; a DENY of DESCRIBE does not deny READ.
    assert not authorizer(acl(T, "orders", Op.DESCRIBE)).permits(ctx(), Op.READ, T, "orders")
    mixed = authorizer(acl(T, "orders", Op.READ), acl(T, "orders", Op.DESCRIBE, DENY))
    assert mixed.permits(ctx(), Op.READ, T, "orders")
    assert not mixed.permits(ctx(), Op.DESCRIBE, T, "orders")


def test_principal_and_host_wildcards() -> None:
    auth = authorizer(acl(G, "g", Op.READ, principal="User:*"),
                      acl(G, "g", Op.READ, DENY, host="10.0.0.9"))
    assert auth.permits(ctx(name="anyone"), Op.READ, G, "g")
    assert not auth.permits(ctx(peer="10.0.0.9:1234"), Op.READ, G, "g")
    v6 = authorizer(acl(G, "g", Op.READ, host="::1"))
    assert v6.permits(ctx(peer="[::1]:5000"), Op.READ, G, "g")
    assert not v6.permits(ctx(peer="10.0.0.5:5000"), Op.READ, G, "g")


def test_super_users_and_an_agent_without_logins_pass() -> None:
    auth = authorizer(acl(T, "orders", Op.ALL, DENY, principal="User:*"))
    assert auth.permits(ctx(scope="admin"), Op.DELETE, T, "orders")  # the org's admin key
    assert auth.permits(ctx(kind="platform_admin", scope="admin"), Op.WRITE, T, "orders")
    assert not auth.permits(ctx(), Op.WRITE, T, "orders")
    open_agent = authorizer(acl(T, "orders", Op.ALL, DENY, principal="User:*"), enabled=False)
    assert open_agent.permits(ctx(scope=None, kind="anonymous"), Op.WRITE, T, "orders")  # type: ignore[arg-type]


def test_acls_of_one_organization_do_not_apply_to_another() -> None:
    auth = authorizer(acl(T, "orders", Op.ALL, DENY, principal="User:*"), org="o1")
    auth.acls._cache["o2"] = (time.monotonic() + 3600, ())
    assert not auth.permits(ctx(org="o1"), Op.READ, T, "orders")
    assert auth.permits(ctx(org="o2"), Op.READ, T, "orders")


def test_unread_acls_refuse_rather_than_guess() -> None:
    broker = SimpleNamespace(tenants=SimpleNamespace(enabled=True))
    acls = Acls(broker, store=SimpleNamespace(all=_never))  # type: ignore[arg-type]
    auth = Authorizer(acls)
    broker.auth = auth
    broker.acls = acls

    async def go() -> bool:
        return auth.permits(ctx(), Op.READ, T, "orders")

    import asyncio

    assert asyncio.run(go()) is False


async def _never(_org: str) -> list[object]:
    raise OSError("catalogue down")


def test_authorized_operations_bits() -> None:
    auth = authorizer(acl(T, "orders", Op.READ))
    bits = auth.acls.authorized_operations(ctx(), T, "orders")
    assert bits == (1 << Op.READ) | (1 << Op.DESCRIBE)  # READ implies DESCRIBE, nothing else
    everything = authorizer(enabled=False).acls.authorized_operations(
        ctx(scope=None, kind="anonymous"), C, "kafka-cluster")  # type: ignore[arg-type]
    assert everything == sum(1 << op for op in (Op.CREATE, Op.CLUSTER_ACTION,
                                                Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS,
                                                Op.IDEMPOTENT_WRITE, Op.ALTER, Op.DESCRIBE))


def test_filters_select_as_kafka() -> None:
    a = acl(T, "orders", Op.READ)
    b = acl(T, "ord", Op.WRITE, DENY, pattern=PRE)
    c = acl(G, "orders", Op.READ, principal="User:bob")
    every = [a, b, c]
    assert [x for x in every if AclFilter().matches(x)] == every
    assert [x for x in every if AclFilter(resource_type=T).matches(x)] == [a, b]
    match = AclFilter(resource_type=T, resource_name="orders", pattern_type=PatternType.MATCH)
    assert [x for x in every if match.matches(x)] == [a, b]
    literal = AclFilter(resource_name="ord", pattern_type=LIT)
    assert [x for x in every if literal.matches(x)] == []
    assert [x for x in every if AclFilter(principal="User:bob").matches(x)] == [c]
    assert [x for x in every if AclFilter(permission=DENY).matches(x)] == [b]


@pytest.mark.parametrize(("binding", "reason"), [
    (acl(ResourceType.ANY, "x", Op.READ), "not ANY"),
    (acl(T, "x", Op.ANY), "not ANY"),
    (acl(T, "x", Op.READ, Permission.ANY), "ALLOW or DENY"),
    (acl(T, "*", Op.READ, pattern=PRE), "wildcard"),
    (acl(T, "", Op.READ), "empty"),
    (acl(C, "my-cluster", Op.ALTER), "kafka-cluster"),
    (acl(G, "g", Op.WRITE), "GROUP supports only"),
    (acl(T, "x", Op.READ, principal="alice"), "User:<name>"),
    (acl(T, "x", Op.READ, host="example.com"), "IP address"),
    (AclBinding(resource_type=T, resource_name="x", pattern_type=PatternType.MATCH,
                principal="User:a", host="*", operation=Op.READ, permission=ALLOW), "LITERAL"),
])
def test_bindings_kafka_refuses_are_refused(binding: AclBinding, reason: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=reason):
        check_binding(binding)
