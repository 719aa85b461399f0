"""Kafka's security admin APIs: SCRAM users (KIP-554) and ACLs (KIP-140), within the
caller's organization (the rules are `broker/acls.py`'s). While logins are off no
authorizer runs, and DescribeAcls, CreateAcls and DeleteAcls answer SECURITY_DISABLED, as
Kafka without an authorizer does: UIs then hide their ACL tab instead of showing one that
does nothing (KAFKA-NOTES pitfall 18)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors
from broker.acls import AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS = 29, 30, 31
DESCRIBE_SCRAM, ALTER_SCRAM = 50, 51
VERSIONS = {DESCRIBE_ACLS: (1, 3), CREATE_ACLS: (1, 3), DELETE_ACLS: (1, 3),
            DESCRIBE_SCRAM: (0, 0), ALTER_SCRAM: (0, 0)}
MECHANISMS = {1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}
CODES = {v: k for k, v in MECHANISMS.items()}
def _enum(cls: Any, value: int) -> Any:
    try:
        return cls(int(value))
    except ValueError:
        return cls(0)  # UNKNOWN: refused as an invalid request


def _filter(f: Any) -> AclFilter:
    return AclFilter(
        resource_type=_enum(ResourceType, f.resource_type_filter),
        resource_name=f.resource_name_filter,
        pattern_type=_enum(PatternType, f.pattern_type_filter),
        principal=f.principal_filter, host=f.host_filter,
        operation=_enum(Operation, f.operation), permission=_enum(Permission, f.permission_type))


def _grouped(bindings: list[AclBinding]) -> list[dict[str, Any]]:
    by: dict[tuple[int, str, int], list[dict[str, Any]]] = {}
    for b in bindings:
        by.setdefault((b.resource_type, b.resource_name, b.pattern_type), []).append(
            {"principal": b.principal, "host": b.host, "operation": int(b.operation),
             "permission_type": int(b.permission)})
    return [{"resource_type": rt, "resource_name": rn, "pattern_type": pt, "acls": acls}
            for (rt, rn, pt), acls in by.items()]


def _matching(b: AclBinding) -> dict[str, Any]:
    return {"error_code": 0, "error_message": None, "resource_type": int(b.resource_type),
            "resource_name": b.resource_name, "pattern_type": int(b.pattern_type),
            "principal": b.principal, "host": b.host, "operation": int(b.operation),
            "permission_type": int(b.permission)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    key = request.api_key
    if key in (DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS):
        return await _acls(kafka, request, conn)
    if key == DESCRIBE_SCRAM:
        return await describe_scram(kafka, request, conn)
    return await alter_scram(kafka, request, conn)


async def _acls(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    acls = kafka.broker.acls
    body = request.body
    key = request.api_key
    try:
        if key == DESCRIBE_ACLS:
            found = await acls.describe(ctx, _filter(body))
            return {"throttle_time": 0, "error_code": 0, "error_message": None,
                    "resources": _grouped(found)}
        if key == CREATE_ACLS:
            bindings = [AclBinding(
                resource_type=_enum(ResourceType, c.resource_type),
                resource_name=c.resource_name,
                pattern_type=_enum(PatternType, c.resource_pattern_type),
                principal=c.principal, host=c.host,
                operation=_enum(Operation, c.operation),
                permission=_enum(Permission, c.permission_type)) for c in body.creations]
            verdicts = await acls.create(ctx, bindings)
            return {"throttle_time": 0, "results": [
                {"error_code": 0, "error_message": None} if v is None
                else {"error_code": v.kafka_code, "error_message": v.message}
                for v in verdicts]}
        filters = [_filter(f) for f in body.filters]
        removed = await acls.delete(ctx, filters)
        return {"throttle_time": 0, "filter_results": [
            {"error_code": 0, "error_message": None,
             "matching_acls": [_matching(b) for b in group]} for group in removed]}
    except errors.BrokerError as exc:
        refusal = {"error_code": exc.kafka_code, "error_message": exc.message}
        if key == DESCRIBE_ACLS:
            return {"throttle_time": 0, **refusal, "resources": []}
        if key == CREATE_ACLS:
            return {"throttle_time": 0, "results": [refusal for _ in body.creations]}
        return {"throttle_time": 0,
                "filter_results": [{**refusal, "matching_acls": []} for _ in body.filters]}


async def describe_scram(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    names = None if request.body.users is None else [u.name for u in request.body.users]
    if names is not None and len(set(names)) != len(names):
        return {"throttle_time": 0, "error_code": ErrorCode.duplicate_resource,
                "error_message": "a user is named twice", "results": []}
    found = await kafka.broker.tenants.scram_users(ctx, names)
    results = []
    for user, rows in found.items():
        entry: dict[str, Any] = {"user": user, "error_code": 0, "error_message": None,
                                 "credential_infos": [
                                     {"mechanism": CODES[r.mechanism], "iterations": r.iterations}
                                     for r in rows if r.mechanism in CODES]}
        if not rows:
            entry.update(error_code=ErrorCode.resource_not_found,
                         error_message=f"attempt to describe a user credential that does not"
                                       f" exist: {user}")
        results.append(entry)
    return {"throttle_time": 0, "error_code": 0, "error_message": None, "results": results}


async def alter_scram(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    tenants = kafka.broker.tenants
    body = request.body
    named = [d.name for d in body.deletions] + [u.name for u in body.upsertions]
    twice = {n for n in named if named.count(n) > 1}
    results: dict[str, dict[str, Any]] = {}

    def refuse(user: str, exc: errors.BrokerError) -> None:
        results[user] = {"user": user, "error_code": exc.kafka_code, "error_message": exc.message}

    for d in body.deletions:
        if d.name in twice:
            refuse(d.name, errors.DuplicateResource("a user is altered twice in one request"))
            continue
        try:
            mechanism = _mechanism(d.mechanism)
            await tenants.delete_scram_user(ctx, d.name, mechanism)
            results[d.name] = {"user": d.name, "error_code": 0, "error_message": None}
        except errors.BrokerError as exc:
            refuse(d.name, exc)
    for u in body.upsertions:
        if u.name in twice:
            refuse(u.name, errors.DuplicateResource("a user is altered twice in one request"))
            continue
        try:
            await tenants.upsert_scram_user(ctx, u.name, _mechanism(u.mechanism), u.iterations,
                                            bytes(u.salt), bytes(u.salted_password))
            results[u.name] = {"user": u.name, "error_code": 0, "error_message": None}
        except errors.BrokerError as exc:
            refuse(u.name, exc)
    return {"throttle_time": 0, "results": list(results.values())}


def _mechanism(code: int) -> str:
    mechanism = MECHANISMS.get(code)
    if mechanism is None:
        raise errors.UnsupportedSaslMechanism(f"unknown SCRAM mechanism {code}")
    return mechanism
