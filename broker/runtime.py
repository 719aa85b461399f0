"""Opening and closing what an agent stands on: the catalogue, the object store, the
segment log and the group state machine, in the order a clean start and a graceful stop
need. The process (`streamhouse/app.py`) drives it; it never reaches below `broker/`."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from coordinator.catalogue import AgentId, Catalogue, TopicId, now_ms
from coordinator.lag import group_lag
from storage.flush import FlushPolicy
from storage.log import LogManager, LogOptions
from storage.metrics import CONSUMER_LAG
from storage.objectstore import ObjectStore

from .context import AGENT, RequestContext
from .errors import UnknownTopicOrPartition, translate
from .metrics import storage as org_storage
from .peers import Peers
from .service import Broker, BrokerOptions
from .sessions import Sessions
from .tenants import Tenants

log = structlog.get_logger("streamhouse.runtime")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeOptions:
    catalogue_url: str
    objects_url: str
    agent_id: str
    data_dir: Path
    lease_ttl_ms: int = 10_000
    wal_fsync: str = "interval"
    retention_check_seconds: float = 30.0
    org_deletion_grace_ms: int = 7 * 24 * 3600 * 1000  # a deleted organization's data stays this long
    max_flushes_per_second: float = 10.0
    max_buffer_bytes: int = 256 * 1024 * 1024
    objects_per_flush: int = 4
    tenant_buffer_share: float = 1.0
    partition_buffer_share: float = 0.25
    rack: str | None = None
    agent_group: str = "default"
    broker: BrokerOptions = field(default_factory=BrokerOptions)


async def open_tenants(catalogue_url: str) -> tuple[Tenants, Catalogue]:
    """The tenancy operations on a catalogue alone (`streamhouse admin` on the host, with no
    agent running); close the catalogue when done."""
    catalogue = Catalogue.from_url(catalogue_url)
    await catalogue.open()
    return Tenants(catalogue.tenants, Sessions()), catalogue


class Runtime:
    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
        self.catalogue = Catalogue.from_url(options.catalogue_url)
        self.store = ObjectStore.from_url(options.objects_url)
        self.logs: LogManager | None = None
        self.broker: Broker | None = None
        self._purger: asyncio.Task[None] | None = None

    @property
    def dialect(self) -> str:
        return self.catalogue.dialect

    @property
    def objects_url(self) -> str:
        return self.store.url

    async def open(self, advertised_host: str, advertised_port: int, peers: Peers) -> Broker:
        """Open the catalogue, replay the WAL, register the agent and start its background
        work; the broker is ready to serve when this returns."""
        o = self.options
        o.data_dir.mkdir(parents=True, exist_ok=True)
        await self.catalogue.open()
        agent_id = AgentId(o.agent_id)
        await self._refuse_second_sqlite_agent(agent_id)
        self.logs = LogManager(
            catalogue=self.catalogue,
            store=self.store,
            agent_id=agent_id,
            options=LogOptions(
                lease_ttl_ms=o.lease_ttl_ms,
                wal_dir=o.data_dir / "wal",
                wal_fsync=o.wal_fsync,  # type: ignore[arg-type]
                retention_check_seconds=o.retention_check_seconds,
                flush=FlushPolicy(
                    max_flushes_per_second=o.max_flushes_per_second,
                    max_buffer_bytes=o.max_buffer_bytes,
                    objects_per_flush=o.objects_per_flush,
                    tenant_buffer_share=o.tenant_buffer_share,
                    partition_buffer_share=o.partition_buffer_share,
                ),
            ),
        )
        self.logs.forward = self._forward_wal_batch
        agent = await self.catalogue.register_agent(
            agent_id, advertised_host, advertised_port, o.rack, o.agent_group
        )
        self.broker = Broker(catalogue=self.catalogue, logs=self.logs, agent=agent,
                             options=o.broker, peers=peers)
        self.broker.peer_secret = bytes.fromhex(
            await self.catalogue.tenants.cluster_secret(secrets.token_hex(32)))
        peers.use_secret(self.broker.peer_secret)
        await self.logs.start()
        self.broker.groups.start()
        self._purger = asyncio.create_task(self._purge_loop(), name="org-purge")
        return self.broker

    async def advertise(self, host: str, port: int, listeners: dict[str, str]) -> None:
        """Register the addresses again once the listeners are bound (port 0 in tests)."""
        assert self.broker is not None
        o = self.options
        self.broker.agent = await self.catalogue.register_agent(
            AgentId(o.agent_id), host, port, o.rack, o.agent_group, listeners
        )

    async def hand_over(self) -> None:
        """A graceful stop, first half: appends answer NOT_LEADER_OR_FOLLOWER, the buffer is
        flushed (answering the produce requests waiting for it), the leases are released."""
        if self.logs is not None:
            self.logs.stop_writes()
            await self.logs.stop()

    async def _purge_loop(self) -> None:
        """Deleted organizations' data goes once their grace period is over (any agent may
        do it: the purge is idempotent)."""
        assert self.broker is not None
        while True:
            await asyncio.sleep(self.options.retention_check_seconds)
            try:
                await self.broker.tenants.purge_deleted(self.broker,
                                                        self.options.org_deletion_grace_ms)
            except Exception as exc:  # the catalogue or store down: next time
                log.warning("organization_purge_failed", error=str(exc))

    async def close(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            await asyncio.gather(self._purger, return_exceptions=True)
        if self.broker is not None:
            await self.broker.groups.stop()
        await self.catalogue.close()

    async def export_lag(self) -> None:
        """streamhouse_consumer_lag_records, refreshed with the throughput series."""
        CONSUMER_LAG.clear()
        totals: dict[tuple[str, str], int] = {}
        for org in await self.catalogue.tenants.list_orgs():
            if org.status == "purged":
                continue
            for group_id, _ptype in await self.catalogue.offsets.list_groups(org.id):
                total = 0
                for row in await group_lag(self.catalogue, group_id, org_id=org.id):
                    CONSUMER_LAG.labels(org.id, group_id, row.topic, str(row.partition)).set(
                        row.lag)
                    total += row.lag
                totals[(org.id, group_id)] = total
        if self.broker is not None:
            self.broker.groups.record_lag(totals, now_ms())
        for org_id, stored in (await self.catalogue.storage_by_org()).items():
            org_storage(org_id, stored)

    async def _forward_wal_batch(self, topic_id: TopicId, partition: int, batch: bytes) -> None:
        """Hand a WAL batch to the agent that leads its partition now, in the topic's own
        organization; retried for two lease TTLs."""
        assert self.broker is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.options.lease_ttl_ms / 1000
        while True:
            try:
                t = await self.catalogue.get_topic_by_id(topic_id)
                if t is None:
                    raise UnknownTopicOrPartition(f"topic {topic_id} was deleted")
                ctx = RequestContext(principal=AGENT, org_id=t.org_id, door="internal")
                await self.broker.produce.forward(ctx, t, partition, batch, acks=-1)
                return
            except Exception as exc:
                if loop.time() >= deadline:
                    raise translate(exc) from exc
                await asyncio.sleep(0.5)

    async def _refuse_second_sqlite_agent(self, agent_id: AgentId) -> None:
        """SQLite is the single-agent default: a second live agent on it is refused."""
        if self.catalogue.dialect != "sqlite":
            return
        ttl = self.options.lease_ttl_ms
        recent = now_ms() - 3 * ttl
        for other in await self.catalogue.list_agents():
            if other.id != agent_id and other.heartbeat_at >= recent:
                raise OSError(
                    f"agent {other.id} ({other.host}:{other.port}) is already running on the SQLite"
                    f" catalogue {self.options.catalogue_url}; SQLite serves one agent. Run several"
                    " agents on PostgreSQL (--catalogue postgresql://...), or stop the other agent"
                    f" and wait {3 * ttl // 1000} s."
                )


