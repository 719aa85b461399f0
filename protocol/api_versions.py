"""ApiVersions: what this broker speaks. Unknown versions get a v0 answer (see Broker.unsupported)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {18: (0, 4)}


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    return {"error_code": 0, "api_keys": kafka.api_version_list(), "throttle_time": 0}
