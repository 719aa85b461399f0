"""Kafka's security admin APIs: SCRAM users (KIP-554, within the caller's organization) and
ACLs. No ACL authorizer runs yet (key scopes decide), so DescribeAcls, CreateAcls and
DeleteAcls answer SECURITY_DISABLED, as Kafka without an authorizer does: UIs then hide
their ACL tab instead of showing one that does nothing (KAFKA-NOTES pitfall 18)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors

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
_NO_AUTHORIZER = "no ACL authorizer is configured: access is decided by API key scopes"


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    key = request.api_key
    off = {"error_code": ErrorCode.security_disabled, "error_message": _NO_AUTHORIZER}
    if key == DESCRIBE_ACLS:
        return {"throttle_time": 0, **off, "resources": []}
    if key == CREATE_ACLS:
        return {"throttle_time": 0, "results": [off for _ in request.body.creations]}
    if key == DELETE_ACLS:
        return {"throttle_time": 0,
                "filter_results": [{**off, "matching_acls": []} for _ in request.body.filters]}
    if key == DESCRIBE_SCRAM:
        return await describe_scram(kafka, request, conn)
    return await alter_scram(kafka, request, conn)


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
