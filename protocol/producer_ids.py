"""InitProducerId over Kafka: producer ids for idempotent producers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker import errors

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {22: (0, 4)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    try:
        ids = await kafka.broker.producer_ids.init(
            conn.context(request),
            transactional_id=body.transactional_id,
            producer_id=getattr(body, "producer_id", -1),
            producer_epoch=getattr(body, "producer_epoch", -1),
        )
    except errors.BrokerError as exc:
        return {"error_code": exc.kafka_code, "producer_id": -1, "producer_epoch": -1}
    return {"error_code": 0, "producer_id": ids.producer_id, "producer_epoch": ids.producer_epoch}
