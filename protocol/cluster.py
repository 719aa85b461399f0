"""DescribeCluster over Kafka: the live agents as brokers, and a controller id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker.types import Agent

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

VERSIONS = {60: (0, 1)}

UNKNOWN_OPERATIONS = -2147483648


def address(agent: Agent, protocol: str) -> tuple[str, int]:
    """Where a client of a listener of this security protocol reaches `agent`."""
    advertised = agent.listeners.get(protocol)
    if advertised is None:
        return agent.host, agent.port
    host, _, port = advertised.rpartition(":")
    return host, int(port)


def brokers(live: list[Agent], protocol: str, id_field: str = "broker_id") -> list[dict[str, Any]]:
    """The live agents as brokers, at the address of the client's listener; Metadata names
    their id `node_id`, DescribeCluster `broker_id`."""
    out = []
    for a in live:
        host, port = address(a, protocol)
        out.append({id_field: a.broker_id, "host": host, "port": port, "rack": a.rack})
    return out


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    ops = UNKNOWN_OPERATIONS
    if getattr(request.body, "include_cluster_authorized_operations", False):
        ops = kafka.broker.cluster.authorized_operations(conn.context(request))
    live = await kafka.broker.cluster.live_agents()
    return {
        "error_code": 0,
        "cluster_id": kafka.broker.cluster.cluster_id,
        "controller_id": live[0].broker_id,
        "brokers": brokers(live, conn.protocol),
        "cluster_authorized_operations": ops,
        "endpoint_type": getattr(request.body, "endpoint_type", 1),
    }
