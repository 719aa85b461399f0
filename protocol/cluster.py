"""DescribeCluster: the live agents as brokers, and a controller id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {60: (0, 1)}


async def brokers(broker: Broker) -> list[dict[str, Any]]:
    agents = await broker.catalogue.list_agents()
    live = [a for a in agents if a.id == broker.agent.id]  # one agent per catalogue for now
    return [
        {
            "broker_id": a.broker_id,
            "node_id": a.broker_id,
            "host": a.host,
            "port": a.port,
            "rack": a.rack,
        }
        for a in live
    ]


async def handle(broker: Broker, request: Request, conn: Connection) -> dict[str, Any]:
    ops = -2147483648
    if getattr(request.body, "include_cluster_authorized_operations", False):
        ops = 0b1111111111100  # everything: authorization is not enforced
    return {
        "error_code": 0,
        "cluster_id": broker.options.cluster_id,
        "controller_id": broker.node_id,
        "brokers": await brokers(broker),
        "cluster_authorized_operations": ops,
        "endpoint_type": getattr(request.body, "endpoint_type", 1),
    }
