"""DescribeClientQuotas and AlterClientQuotas (KIP-546) over Kafka, on `broker.quotas`.

Entities map onto the caller's organization: `client-id=X` is a client id within it, and
the default `user` entity (or no entity) is the organization's own quota, which only the
platform admin sets. Kafka's quota keys `producer_byte_rate`, `consumer_byte_rate` and
`request_percentage` (refused: StreamHouse counts `request_rate` in requests/s instead)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from broker import errors

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

DESCRIBE, ALTER = 48, 49
VERSIONS = {DESCRIBE: (0, 1), ALTER: (0, 1)}
MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY = 0, 1, 2


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    if request.api_key == DESCRIBE:
        return await describe(kafka, request, conn)
    return await alter(kafka, request, conn)


def _entity(client: str) -> list[dict[str, Any]]:
    return ([{"entity_type": "client-id", "entity_name": client}] if client
            else [{"entity_type": "user", "entity_name": None}])


async def describe(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    wanted_client: str | None = None  # None: every entity
    only_org = False
    for c in request.body.components:
        if c.entity_type == "client-id" and c.match_type == MATCH_EXACT:
            wanted_client = c.match or ""
        elif c.entity_type == "client-id" and c.match_type == MATCH_DEFAULT:
            only_org = True
        elif c.entity_type not in ("client-id", "user"):
            return {"throttle_time": 0, "error_code": ErrorCode.invalid_request,
                    "error_message": f"unknown entity type {c.entity_type!r}", "entries": None}
    try:
        quotas = await kafka.broker.quotas.describe(ctx)
    except errors.BrokerError as exc:
        return {"throttle_time": 0, "error_code": exc.kafka_code, "error_message": exc.message,
                "entries": None}
    entries = []
    for client, values in quotas.items():
        if wanted_client is not None and client != wanted_client:
            continue
        if only_org and client:
            continue
        entries.append({"entity": _entity(client), "values": [
            {"key": k, "value": v} for k, v in sorted(values.items())]})
    return {"throttle_time": 0, "error_code": 0, "error_message": None, "entries": entries}


async def alter(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ctx = conn.context(request)
    out = []
    for entry in request.body.entries:
        client = ""
        for e in entry.entity:
            if e.entity_type == "client-id":
                client = e.entity_name or ""
        answer: dict[str, Any] = {"error_code": 0, "error_message": None,
                                  "entity": [{"entity_type": e.entity_type,
                                              "entity_name": e.entity_name} for e in entry.entity]}
        try:
            for op in entry.ops:
                if op.key == "request_percentage":
                    raise errors.InvalidRequest("request_percentage is not kept: set request_rate"
                                                " (requests per second)")
                await kafka.broker.quotas.set(ctx, client, op.key,
                                              None if op.remove else float(op.value),
                                              validate_only=request.body.validate_only)
        except errors.BrokerError as exc:
            answer.update(error_code=exc.kafka_code, error_message=exc.message)
        out.append(answer)
    return {"throttle_time": 0, "entries": out}
