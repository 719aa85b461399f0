"""One agent's life: open the catalogue and object store, replay the WAL, serve, shut down cleanly."""

from __future__ import annotations

import asyncio
import signal

import structlog

from coordinator.catalogue import AgentId, Catalogue, now_ms
from coordinator.groups import GroupCoordinator
from protocol import client
from protocol.broker import Broker, BrokerOptions
from protocol.group_admin import GroupAdmin
from storage.flush import FlushPolicy
from storage.log import LogManager, LogOptions
from storage.objectstore import ObjectStore

from .api.app import HttpServer, create_app
from .api.series import ThroughputSeries
from .config import Settings, split_host_port
from .registry.app import create_registry_app

log = structlog.get_logger("streamhouse")


class Agent:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalogue = Catalogue.from_url(settings.catalogue_url)
        self.store = ObjectStore.from_url(settings.objects_url)
        self.logs: LogManager | None = None
        self.broker: Broker | None = None
        self.http: HttpServer | None = None
        self.registry_http: HttpServer | None = None
        self.series: ThroughputSeries | None = None
        self.groups: GroupCoordinator | None = None

    async def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        await self.catalogue.open()
        await self._refuse_second_sqlite_agent(AgentId(s.resolved_agent_id()))
        host, port = split_host_port(s.kafka_listen)
        advertised_host = s.advertised_host or (
            host if host not in ("0.0.0.0", "::") else "localhost"
        )
        agent_id = AgentId(s.resolved_agent_id())
        self.logs = LogManager(
            catalogue=self.catalogue,
            store=self.store,
            agent_id=agent_id,
            options=LogOptions(
                lease_ttl_ms=s.lease_ttl_ms,
                wal_dir=s.data_dir / "wal",
                wal_fsync=s.wal_fsync,  # type: ignore[arg-type]
                retention_check_seconds=s.retention_check_seconds,
                flush=FlushPolicy(
                    max_flushes_per_second=s.max_flushes_per_second,
                    max_buffer_bytes=s.max_buffer_bytes,
                ),
            ),
        )
        # The advertised port is known only once the listener is bound (port 0 in tests).
        self.logs.forward = self._forward_wal_batch
        agent = await self.catalogue.register_agent(
            agent_id, advertised_host, s.advertised_port or port, s.rack, s.agent_group
        )
        await self.logs.start()
        self.groups = GroupCoordinator(
            self.catalogue.offsets,
            initial_rebalance_delay_ms=s.group_initial_rebalance_delay_ms,
            agent_id=agent_id,
        )
        self.groups.start()
        self.broker = Broker(
            catalogue=self.catalogue,
            logs=self.logs,
            groups=self.groups,
            agent=agent,
            options=BrokerOptions(
                cluster_id=s.cluster_id,
                auto_create_topics=s.auto_create_topics,
                default_partitions=s.default_partitions,
                max_request_bytes=s.max_request_bytes,
            ),
        )
        await self.broker.start(host, port)
        if port == 0 and not s.advertised_port:
            agent = await self.catalogue.register_agent(
                agent_id, advertised_host, self.broker.port, s.rack, s.agent_group
            )
            self.broker.agent = agent
        http_host, http_port = split_host_port(s.http_listen)
        self.series = ThroughputSeries(on_sample=self._export_lag)
        self.series.start()
        cors = [o.strip() for o in (s.cors_origins or "").split(",") if o.strip()]
        self.http = HttpServer(create_app(self, cors), http_host, http_port)
        await self.http.start()
        if s.registry_listen not in ("", "off"):
            reg_host, reg_port = split_host_port(s.registry_listen)
            self.registry_http = HttpServer(create_registry_app(self.catalogue.registry), reg_host, reg_port)
            await self.registry_http.start()
        log.info(
            "started",
            agent=agent_id,
            broker_id=agent.broker_id,
            kafka=f"{host}:{self.broker.port}",
            advertised=f"{agent.host}:{agent.port}",
            http=s.http_listen,
            catalogue=self.catalogue.dialect,
            objects=self.store.url,
        )

    async def stop(self) -> None:
        log.info("stopping")
        # A graceful stop hands the partitions over first, without dropping a request: no
        # new connections; appends answer NOT_LEADER_OR_FOLLOWER (clients retry at the next
        # leader); the buffer is flushed, which answers the produce requests waiting for
        # it; the leases are released (another agent takes them at its next tick); only
        # then are the HTTP servers stopped and the connections closed.
        if self.broker is not None:
            self.broker.stop_listening()
        if self.logs is not None:
            self.logs.stop_writes()
            await self.logs.stop()
        log.info("handed_over")
        if self.registry_http is not None:
            await self.registry_http.stop()
        if self.http is not None:
            await self.http.stop()
        if self.series is not None:
            await self.series.stop()
        if self.broker is not None:
            await self.broker.stop()
        if self.groups is not None:
            await self.groups.stop()
        await self.catalogue.close()
        log.info("stopped")

    async def _forward_wal_batch(self, topic: str, partition: int, batch: bytes) -> None:
        """Hand a WAL batch to the agent that leads its partition now; retried for two lease TTLs."""
        deadline = asyncio.get_running_loop().time() + 2 * self.settings.lease_ttl_ms / 1000
        while True:
            try:
                await client.produce_to_leader(self.catalogue, topic, partition, batch)
                return
            except Exception:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _refuse_second_sqlite_agent(self, agent_id: AgentId) -> None:
        """SQLite is the single-agent default: a second live agent on it is refused."""
        if self.catalogue.dialect != "sqlite":
            return
        recent = now_ms() - 3 * self.settings.lease_ttl_ms
        for other in await self.catalogue.list_agents():
            if other.id != agent_id and other.heartbeat_at >= recent:
                raise OSError(
                    f"agent {other.id} ({other.host}:{other.port}) is already running on the SQLite"
                    f" catalogue {self.settings.catalogue_url}; SQLite serves one agent. Run several"
                    " agents on PostgreSQL (--catalogue postgresql://...), or stop the other agent"
                    f" and wait {3 * self.settings.lease_ttl_ms // 1000} s."
                )

    def require_broker(self) -> Broker:
        if self.broker is None:
            raise RuntimeError("the agent is not started")
        return self.broker

    def require_logs(self) -> LogManager:
        if self.logs is None:
            raise RuntimeError("the agent is not started")
        return self.logs

    def group_admin(self) -> GroupAdmin:
        """Group administration that asks the group's coordinator, wherever it runs."""
        return GroupAdmin(self.require_broker())

    def require_groups(self) -> GroupCoordinator:
        if self.groups is None:
            raise RuntimeError("the agent is not started")
        return self.groups

    async def _export_lag(self) -> None:
        """streamhouse_consumer_lag_records, refreshed with the throughput series."""
        from coordinator.lag import group_lag
        from storage.metrics import CONSUMER_LAG

        CONSUMER_LAG.clear()
        for group_id, _ptype in await self.catalogue.offsets.list_groups():
            for row in await group_lag(self.catalogue, group_id):
                CONSUMER_LAG.labels(group_id, row.topic, str(row.partition)).set(row.lag)

    async def ready(self) -> dict[str, str]:
        checks = {}
        try:
            await self.catalogue.ping()
            checks["catalogue"] = "ok"
        except Exception as exc:
            checks["catalogue"] = f"error: {exc}"
        try:
            await self.store.ping()
            checks["objects"] = "ok"
        except Exception as exc:
            checks["objects"] = f"error: {exc}"
        return checks


async def serve(settings: Settings) -> None:
    agent = Agent(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await agent.start()
        await stop.wait()
    finally:
        await agent.stop()
