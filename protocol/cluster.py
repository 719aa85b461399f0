"""DescribeCluster: the live agents as brokers, and a controller id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coordinator.catalogue import Agent

if TYPE_CHECKING:
    from .broker import Broker
    from .codec import Request
    from .connection import Connection

VERSIONS = {60: (0, 1)}


async def live_agents(broker: Broker) -> list[Agent]:
    """The agents heartbeating within a lease TTL, this one always among them."""
    return await broker.live_agents()


async def brokers(broker: Broker, live: list[Agent] | None = None) -> list[dict[str, Any]]:
    live = live if live is not None else await live_agents(broker)
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
    live = await live_agents(broker)
    return {
        "error_code": 0,
        "cluster_id": broker.options.cluster_id,
        "controller_id": live[0].broker_id,
        "brokers": await brokers(broker),
        "cluster_authorized_operations": ops,
        "endpoint_type": getattr(request.body, "endpoint_type", 1),
    }
