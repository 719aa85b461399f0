"""The cluster as clients see it: live agents (brokers), the controller, broker configs,
the leases each agent holds, and the agent's own throughput figures."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coordinator.catalogue import Agent, AgentId, Topic
from storage.topic_config import DEFAULTS

from . import errors, throughput
from .acls import CLUSTER_NAME, ResourceType
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

# Kafka UI reads the version from here (KAFKA-NOTES.md): without it, it disables features.
INTER_BROKER_PROTOCOL_VERSION = "3.7-IV4"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    topic: str
    partition: int
    epoch: int
    expires_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionLeader:
    partition: int
    leader_id: int  # broker id, -1 when no live agent leads it
    leader_epoch: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatus:
    agent: Agent
    healthy: bool
    partitions_led: int
    bytes_written: int
    records_written: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterStatus:
    cluster_id: str
    agents: list[AgentStatus]
    partitions: int
    storage_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Totals:
    topics: int
    partitions: int
    storage_bytes: int
    produce_records: float
    produce_bytes: float
    fetch_bytes: float


class Cluster:
    def __init__(self, broker: Broker) -> None:
        self._b = broker
        self._live: tuple[float, list[Agent]] | None = None

    @property
    def cluster_id(self) -> str:
        return self._b.options.cluster_id

    async def live_agents(self, *, fresh: bool = False) -> list[Agent]:
        """Live agents (this one included), by broker id; cached for a second unless `fresh`."""
        now = time.monotonic()
        if fresh or self._live is None or now - self._live[0] > 1.0:
            live = await self._b.catalogue.live_agents(self._b.logs.options.lease_ttl_ms)
            if all(a.id != self._b.agent.id for a in live):
                live.append(self._b.agent)
            self._live = (now, sorted(live, key=lambda a: a.broker_id))
        return self._live[1]

    async def controller(self) -> Agent:
        return (await self.live_agents())[0]

    async def leaders(
        self, ctx: RequestContext, topic: Topic, live: list[Agent]
    ) -> list[PartitionLeader]:
        return (await self.leaders_of(ctx, [topic], live))[topic.id]

    async def leaders_of(
        self, ctx: RequestContext, topics: list[Topic], live: list[Agent]
    ) -> dict[str, list[PartitionLeader]]:
        """Each partition's leader is its lease holder, if that agent is alive and the lease
        valid. A partition nobody holds is taken on the spot by a lone agent; with several,
        the lease keepers share free partitions out within a tick. From one bulk read of
        every partition's state, at most a second old (the lease keeper's), never a query
        per topic: Metadata for 10,000 topics stays one read."""
        ids = {a.id: a.broker_id for a in live}
        logs = self._b.logs
        solo = len(live) == 1
        out: dict[str, list[PartitionLeader]] = {}
        try:
            index = await logs.lease_index()
        except Exception as exc:
            raise errors.translate(exc) from exc
        for topic in topics:
            try:
                leases = index.get(topic.id, {})
                if len(leases) < topic.partition_count:  # partitions newer than the read
                    index = await logs.lease_index(max_age_s=0)
                    leases = index.get(topic.id, {})
            except Exception as exc:
                raise errors.translate(exc) from exc
            # Live as of the read behind the index (the keeper confirms it since).
            now = logs.leases_wall_ms
            leaders = []
            for p in range(topic.partition_count):
                lease = leases.get(p)
                leader, epoch = -1, lease[1] if lease else -1
                if lease is not None and lease[2] > now and lease[0] in ids:
                    # Named from the catalogue only: a partition this agent leads opens on
                    # first use (after a restart, thousands are led before any is opened).
                    leader = ids[AgentId(lease[0])]
                elif solo:
                    plog = await logs.take(topic.id, p)
                    if plog is not None:
                        leader, epoch = self._b.node_id, plog.leader_epoch
                leaders.append(PartitionLeader(partition=p, leader_id=leader, leader_epoch=epoch))
            out[topic.id] = leaders
        return out

    def leader_for_new(self) -> AgentId | None:
        """Alone, this agent leads new partitions at once (Metadata names a leader); with
        other agents, the lease keepers share them out."""
        return self._b.logs.agent_id if self._b.logs.solo else None

    def broker_configs(self) -> dict[str, str]:
        """The broker's static configs, as DescribeConfigs on a broker resource shows them."""
        o = self._b.options
        return {
            "inter.broker.protocol.version": INTER_BROKER_PROTOCOL_VERSION,
            "log.message.format.version": "3.0-IV1",
            "broker.id": str(self._b.node_id),
            "auto.create.topics.enable": str(o.auto_create_topics).lower(),
            "num.partitions": str(o.default_partitions),
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "message.max.bytes": DEFAULTS["max.message.bytes"],
            "log.retention.ms": DEFAULTS["retention.ms"],
            "log.retention.bytes": DEFAULTS["retention.bytes"],
            "log.cleanup.policy": DEFAULTS["cleanup.policy"],
            "socket.request.max.bytes": str(o.max_request_bytes),
            "transaction.state.log.replication.factor": "1",
            "offsets.topic.replication.factor": "1",
        }

    # -- agents and leases (REST, console) -------------------------------------------------

    async def _leases(self) -> list[tuple[str, Lease, str]]:
        """(holder, lease, topic) of every live lease."""
        now = int(time.time() * 1000)
        out: list[tuple[str, Lease, str]] = []
        for topic in await self._b.catalogue.list_topics():
            for p in await self._b.catalogue.list_partitions(topic.id):
                if p.leader_agent is not None and p.lease_expires_at >= now:
                    out.append((p.leader_agent, Lease(topic=topic.name, partition=p.partition,
                                                      epoch=p.leader_epoch,
                                                      expires_at=p.lease_expires_at),
                                topic.name))
        return out

    def _require_operator(self, ctx: RequestContext) -> None:
        """Agents, leases and the agent's throughput are the platform's, not a tenant's."""
        if self._b.tenants.enabled and ctx.principal.kind != "platform_admin":
            raise errors.NotAuthorized("the cluster's agents and figures are the platform admin's")

    async def agents(self, ctx: RequestContext) -> list[AgentStatus]:
        self._require_operator(ctx)
        now = int(time.time() * 1000)
        led: dict[str, int] = {}
        for holder, _lease, _t in await self._leases():
            led[holder] = led.get(holder, 0) + 1
        stale_after = 3 * self._b.logs.options.lease_ttl_ms
        mine = throughput.totals()
        out = []
        for row in await self._b.catalogue.list_agents():
            me = row.id == self._b.agent.id
            out.append(AgentStatus(
                agent=row,
                healthy=now - row.heartbeat_at <= stale_after,
                partitions_led=led.get(row.id, 0),
                # This agent's own figures are live; the others' are from their last heartbeat.
                bytes_written=int(mine[1]) if me else row.bytes_written,
                records_written=int(mine[0]) if me else row.records_written,
            ))
        return out

    async def leases_of(self, ctx: RequestContext, agent_id: str) -> list[Lease]:
        self._require_operator(ctx)
        return [lease for holder, lease, _t in await self._leases() if holder == agent_id]

    async def status(self, ctx: RequestContext) -> ClusterStatus:
        self._require_operator(ctx)
        partitions, storage = await self._b.catalogue.partition_totals()
        return ClusterStatus(cluster_id=self.cluster_id, agents=await self.agents(ctx),
                             partitions=partitions, storage_bytes=storage)

    async def totals(self, ctx: RequestContext) -> Totals:
        self._require_operator(ctx)
        topics = await self._b.catalogue.list_topics(ctx.org_id)
        partitions, storage = await self._b.catalogue.partition_totals(ctx.org_id)
        records, produced, fetched, _fetched_records = throughput.totals()
        return Totals(
            topics=len(topics),
            partitions=partitions,
            storage_bytes=storage,
            produce_records=records,
            produce_bytes=produced,
            fetch_bytes=fetched,
        )

    def authorized_operations(self, ctx: RequestContext) -> int:
        """What the caller may do on the cluster (DescribeCluster, Metadata v8-10)."""
        return self._b.acls.authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)

    def object_store_health(self, ctx: RequestContext) -> dict[str, object]:
        """This agent's view of the object store: the circuit breaker and each operation's
        current rate limit against its maximum (they fall after throttling answers)."""
        self._require_operator(ctx)
        store = self._b.logs.store
        return {
            "breaker": store.breaker.state.value,
            "consecutive_failures": store.breaker.failures,
            "retry_after_s": round(store.breaker.retry_after(), 3),
            "rates": {op: {"current": store.limiter.rate(op),
                           "max": store.limiter.config.max_rate(op)}
                      for op in ("put", "get", "delete")},
        }

    async def ready(self) -> dict[str, str]:
        """Readiness checks: the catalogue and the object store answer."""
        checks = {}
        try:
            await self._b.catalogue.ping()
            checks["catalogue"] = "ok"
        except Exception as exc:
            checks["catalogue"] = f"error: {exc}"
        try:
            await self._b.logs.store.ping()
            checks["objects"] = "ok"
        except Exception as exc:
            checks["objects"] = f"error: {exc}"
        return checks
