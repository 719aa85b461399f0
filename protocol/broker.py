"""The Kafka listener: the broker's view of itself, the API table, and the TCP server."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import structlog
from kio.index import api_key_map
from kio.schema.errors import ErrorCode

from coordinator.catalogue import Agent, AgentId, Catalogue, Topic
from coordinator.groups import GroupCoordinator
from storage.log import LogManager
from storage.topic_config import validate

from . import metrics
from .build import build
from .codec import Request, UnsupportedApi, encode_response, response_class
from .connection import Connection
from .schema_validation import SchemaValidator

log = structlog.get_logger("streamhouse.kafka")


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOptions:
    cluster_id: str = "streamhouse"
    auto_create_topics: bool = True
    default_partitions: int = 1
    max_request_bytes: int = 100 * 1024 * 1024


class Broker:
    def __init__(
        self,
        *,
        catalogue: Catalogue,
        logs: LogManager,
        groups: GroupCoordinator,
        agent: Agent,
        options: BrokerOptions,
    ) -> None:
        self.catalogue = catalogue
        self.groups = groups
        self.schema_validator = SchemaValidator(catalogue.registry)
        self.logs = logs
        self.agent = agent
        self.options = options
        self._handlers: dict[int, ModuleType] = {}
        self.supported: dict[int, tuple[int, int]] = {}
        self._server: asyncio.Server | None = None
        self._live: tuple[float, list[Agent]] | None = None
        # group id -> (when looked up, its coordinator); see groups.coordinator_for
        self.group_coordinators: dict[str, tuple[float, Agent]] = {}
        self._connections: set[asyncio.Task[None]] = set()
        from . import registry

        for module in registry.MODULES:
            for api_key, versions in module.VERSIONS.items():
                self._handlers[api_key] = module
                self.supported[api_key] = versions

    @property
    def node_id(self) -> int:
        return self.agent.broker_id

    async def live_agents(self, *, fresh: bool = False) -> list[Agent]:
        """Live agents (this one included), by broker id; cached for a second unless `fresh`."""
        now = time.monotonic()
        if fresh or self._live is None or now - self._live[0] > 1.0:
            live = await self.catalogue.live_agents(self.logs.options.lease_ttl_ms)
            if all(a.id != self.agent.id for a in live):
                live.append(self.agent)
            self._live = (now, sorted(live, key=lambda a: a.broker_id))
        return self._live[1]

    # -- topics, shared by Metadata, Produce and the admin APIs ---------------------------

    async def create_topic(
        self, name: str, partitions: int, config: dict[str, str | None] | None = None
    ) -> Topic:
        leader = self._leader_for_new()
        topic = await self.catalogue.create_topic(
            name, partitions, validate(config or {}),
            leader=leader, lease_ttl_ms=self.logs.options.lease_ttl_ms,
        )
        self.logs.update_topic(topic)
        if leader is not None:
            self.logs.adopt_new(topic, range(partitions))
        log.info("topic_created", topic=name, partitions=partitions)
        return topic

    async def add_partitions(self, name: str, count: int) -> Topic:
        """Grow a topic to `count` partitions (Kafka's CreatePartitions, REST's PATCH)."""
        leader = self._leader_for_new()
        before = await self.logs.topic(name, refresh=True)
        topic = await self.catalogue.set_partition_count(
            name, count, leader=leader, lease_ttl_ms=self.logs.options.lease_ttl_ms
        )
        self.logs.update_topic(topic)
        if leader is not None and before is not None:
            self.logs.adopt_new(topic, range(before.partition_count, count))
        log.info("partitions_added", topic=name, partitions=count)
        return topic

    def _leader_for_new(self) -> AgentId | None:
        """Alone, this agent leads new partitions at once (Metadata names a leader); with
        other agents, the lease keepers share them out."""
        return self.logs.agent_id if self.logs.solo else None

    async def topic_or_autocreate(self, name: str) -> Topic | None:
        topic = await self.logs.topic(name)
        if topic is None and self.options.auto_create_topics and valid_topic_name(name) is None:
            try:
                topic = await self.create_topic(name, self.options.default_partitions)
            except Exception:
                topic = await self.logs.topic(name, refresh=True)
        return topic

    # -- dispatch ----------------------------------------------------------------------

    async def dispatch(self, request: Request, conn: Connection) -> bytes | None:
        module = self._handlers[request.api_key]
        name = module.__name__.rsplit(".", 1)[-1]
        started = time.perf_counter()
        body = await module.handle(self, request, conn)
        metrics.REQUESTS.labels(name).inc()
        metrics.REQUEST_LATENCY.labels(name).observe(time.perf_counter() - started)
        if body is None:
            return None
        if isinstance(body, dict):
            if name not in _COUNTS_ITS_OWN_ERRORS:
                _count_errors(_api_name(request.api_key), body)
            body = build(response_class(request.api_key, request.api_version), body)
        return encode_response(request.api_key, request.api_version, request.correlation_id, body)

    def unsupported(self, exc: UnsupportedApi) -> bytes | None:
        """ApiVersions of an unknown version gets a v0 answer listing what we support."""
        if exc.api_key != 18:
            return None
        body = build(
            response_class(18, 0),
            {
                "error_code": ErrorCode.unsupported_version,
                "api_keys": self.api_version_list(),
            },
        )
        return encode_response(18, 0, exc.correlation_id, body)

    def api_version_list(self) -> list[dict[str, Any]]:
        return [
            {"api_key": k, "min_version": lo, "max_version": hi}
            for k, (lo, hi) in sorted(self.supported.items())
        ]

    # -- server ------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port, limit=1 << 20)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(
            reader,
            writer,
            dispatch=self.dispatch,
            unsupported=self.unsupported,
            supported=self.supported,
            max_frame_bytes=self.options.max_request_bytes,
        )
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await conn.serve()
        except asyncio.CancelledError:
            # The broker is stopping: end quietly (asyncio's server callback would log a
            # cancelled connection task as an error).
            writer.close()
        finally:
            self._connections.discard(task)

    def stop_listening(self) -> None:
        """No new connections (a graceful stop); open ones are still served until `stop`."""
        if self._server is not None:
            self._server.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None


# The hot paths count their error codes where they set them, without a walk of the answer.
_COUNTS_ITS_OWN_ERRORS = frozenset({"produce", "fetch"})


@functools.cache
def _api_name(api_key: int) -> str:
    """`describe_groups` for DescribeGroups: the label of the error metric."""
    return str(api_key_map.get(api_key, f"api_{api_key}"))


def _count_errors(api: str, body: Any) -> None:
    """Every non-zero error code of a response, at any depth (per topic, partition, group)."""
    if isinstance(body, dict):
        code = body.get("error_code")
        if code:
            metrics.REQUEST_ERRORS.labels(api, ErrorCode(code).name).inc()
        for value in body.values():
            if isinstance(value, (dict, list)):
                _count_errors(api, value)
    elif isinstance(body, list):
        for item in body:
            if isinstance(item, (dict, list)):
                _count_errors(api, item)


_LEGAL = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def valid_topic_name(name: str | None) -> str | None:
    """Why a topic name is illegal (as Kafka rules it), or None if it is fine."""
    if not name:
        return "topic name is empty"
    if name in (".", ".."):
        return "topic name cannot be '.' or '..'"
    if len(name) > 249:
        return "topic name is longer than 249 characters"
    if not set(name) <= _LEGAL:
        return "topic name may only hold ASCII letters, digits, '.', '_' and '-'"
    return None
