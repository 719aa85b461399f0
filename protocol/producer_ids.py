"""InitProducerId: producer ids for idempotent producers, allocated by the catalogue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {22: (0, 4)}


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    body = request.body
    if body.transactional_id is not None:
        # Transactions are not offered: producers with a transactional.id get a clear refusal.
        return {
            "error_code": ErrorCode.transactional_id_authorization_failed,
            "producer_id": -1,
            "producer_epoch": -1,
        }
    current = getattr(body, "producer_id", -1)
    epoch = getattr(body, "producer_epoch", -1)
    if current >= 0 and epoch >= 0:
        # KIP-360: an idempotent producer bumps its epoch after a sequence error.
        if epoch >= 32766:
            return {
                "error_code": 0,
                "producer_id": await broker.catalogue.allocate_producer_id(),
                "producer_epoch": 0,
            }
        return {"error_code": 0, "producer_id": current, "producer_epoch": epoch + 1}
    return {
        "error_code": 0,
        "producer_id": await broker.catalogue.allocate_producer_id(),
        "producer_epoch": 0,
    }
