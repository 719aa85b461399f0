"""One agent's life: open what it stands on (`broker.runtime`), serve the Kafka port and the
HTTP ports, and shut down cleanly."""

from __future__ import annotations

import asyncio
import gc
import signal
import ssl

import structlog

from broker.runtime import Runtime, RuntimeOptions
from broker.service import Broker, BrokerOptions
from protocol.client import KafkaPeers
from protocol.listener import Endpoint, KafkaListener

from .api.app import HttpServer, create_app
from .api.series import ThroughputSeries
from .config import Settings, advertised_listeners, kafka_listeners, split_host_port
from .registry.app import create_registry_app

log = structlog.get_logger("streamhouse")


class Agent:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        s = settings
        self.runtime = Runtime(RuntimeOptions(
            catalogue_url=s.catalogue_url,
            objects_url=s.objects_url,
            agent_id=s.resolved_agent_id(),
            data_dir=s.data_dir,
            lease_ttl_ms=s.lease_ttl_ms,
            wal_fsync=s.wal_fsync,
            retention_check_seconds=s.retention_check_seconds,
            org_deletion_grace_ms=s.org_deletion_grace_ms,
            max_flushes_per_second=s.flush_rate,
            max_buffer_bytes=s.max_buffer_bytes,
            objects_per_flush=s.objects_per_flush,
            partition_buffer_share=s.partition_buffer_share,
            tenant_buffer_share=(s.tenant_buffer_share if s.tenant_buffer_share is not None
                                 else 0.5 if s.admin_key_file is not None else 1.0),
            rack=s.rack,
            agent_group=s.agent_group,
            broker=BrokerOptions(
                cluster_id=s.cluster_id,
                auto_create_topics=s.auto_create_topics,
                default_partitions=s.default_partitions,
                max_request_bytes=s.max_request_bytes,
                group_initial_rebalance_delay_ms=s.group_initial_rebalance_delay_ms,
            ),
        ))
        self.broker: Broker | None = None
        self.listener: KafkaListener | None = None
        self.http: HttpServer | None = None
        self.registry_http: HttpServer | None = None
        self.series: ThroughputSeries | None = None

    async def start(self) -> None:
        s = self.settings
        specs = kafka_listeners(s)
        first = specs[0]
        host, port = first.host, first.port
        advertised_host = s.advertised_host or (
            host if host not in ("0.0.0.0", "::") else "localhost"
        )
        self.broker = await self.runtime.open(advertised_host, s.advertised_port or port,
                                              KafkaPeers())
        if s.admin_key_file is not None:
            secret = s.admin_key_file.read_text().strip()
            if len(secret) < 16:
                raise OSError(f"{s.admin_key_file}: the platform admin's secret needs at least"
                              " 16 characters")
            self.broker.tenants.admin_secret = secret
        tls = self._tls_context()
        self.listener = KafkaListener(self.broker, reauth_ms=s.connections_max_reauth_ms)
        await self.listener.start_endpoints([
            Endpoint(protocol=x.protocol, host=x.host, port=x.port, ssl=tls if x.tls else None)
            for x in specs])
        # The advertised ports are known once the listeners are bound (port 0 in tests).
        bound = self.listener.ports()
        given = advertised_listeners(s)
        listeners = {}
        for x in specs:
            h, p = given.get(x.protocol, (advertised_host if x is first else (
                x.host if x.host not in ("0.0.0.0", "::") else advertised_host), bound[x.protocol]))
            listeners[x.protocol] = f"{h}:{p}"
        await self.runtime.advertise(advertised_host, s.advertised_port or bound[first.protocol],
                                     listeners)
        http_host, http_port = split_host_port(s.http_listen)
        self.series = ThroughputSeries(on_sample=self.runtime.export_lag)
        self.series.start()
        cors = [o.strip() for o in (s.cors_origins or "").split(",") if o.strip()]
        https = ((str(s.tls_cert), str(s.tls_key))
                 if s.http_tls and s.tls_cert and s.tls_key else None)
        # One registry app: on its own port for Kafka clients, and under /registry on the
        # HTTP port for the console (same origin, no CORS).
        registry = create_registry_app(self.broker.registry_store, self.broker)
        self.http = HttpServer(create_app(self, cors, console=s.console, registry=registry),
                               http_host, http_port, https)
        await self.http.start()
        if s.registry_listen not in ("", "off"):
            reg_host, reg_port = split_host_port(s.registry_listen)
            self.registry_http = HttpServer(registry, reg_host, reg_port, https)
            await self.registry_http.start()
        agent = self.broker.agent
        log.info(
            "started",
            agent=agent.id,
            broker_id=agent.broker_id,
            kafka=f"{host}:{self.listener.port}",
            advertised=f"{agent.host}:{agent.port}",
            http=s.http_listen,
            catalogue=self.runtime.dialect,
            objects=self.runtime.objects_url,
        )

    async def stop(self) -> None:
        log.info("stopping")
        # A graceful stop hands the partitions over first, without dropping a request: no
        # new connections; appends answer NOT_LEADER_OR_FOLLOWER (clients retry at the next
        # leader); the buffer is flushed, which answers the produce requests waiting for
        # it; the leases are released (another agent takes them at its next tick); only
        # then are the HTTP servers stopped and the connections closed.
        if self.listener is not None:
            self.listener.stop_listening()
        await self.runtime.hand_over()
        log.info("handed_over")
        if self.registry_http is not None:
            await self.registry_http.stop()
        if self.http is not None:
            await self.http.stop()
        if self.series is not None:
            await self.series.stop()
        if self.listener is not None:
            await self.listener.stop()
        await self.runtime.close()
        log.info("stopped")

    def _tls_context(self) -> ssl.SSLContext | None:
        s = self.settings
        if s.tls_cert is None or s.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(s.tls_cert, s.tls_key)
        return context

    def require_broker(self) -> Broker:
        if self.broker is None:
            raise RuntimeError("the agent is not started")
        return self.broker

    async def ready(self) -> dict[str, str]:
        return await self.require_broker().cluster.ready()


# The collector's first generation runs after this many allocations (Python's default is
# 700). An agent holds many long-lived objects (topics, partition views) and a request such
# as Metadata for 10,000 topics allocates ~100,000 short-lived ones: with the default, the
# collections it triggered tripled its time (0.69 s against 0.23 s, bench/scale.py).
GC_THRESHOLDS = (20_000, 20, 20)


async def serve(settings: Settings) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    agent = Agent(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await agent.start()
        # What start-up made (modules, caches of every topic) lives as long as the process:
        # kept out of the collector's passes from here on.
        gc.collect()
        gc.freeze()
        await stop.wait()
    finally:
        await agent.stop()
