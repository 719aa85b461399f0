"""The catalogue: topics, partitions, chunks, objects, agents and producer ids.

One class over either SQL driver (`sql.py`). Chunk commits check the writer's
lease epoch in the same transaction as the insert (fencing, DESIGN.md §7).
Nothing here touches object storage or the Kafka wire.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NewType

from .acls import AclStore
from .offsets import OffsetStore
from .quotas import QuotaStore
from .registry import RegistryStore
from .sql import Driver, Session, driver_for, migrate
from .tenants import TenantStore

TopicId = NewType("TopicId", str)
AgentId = NewType("AgentId", str)
OrgId = NewType("OrgId", str)

DEFAULT_ORG = OrgId("default")


def now_ms() -> int:
    return int(time.time() * 1000)


class CatalogueError(Exception):
    pass


class TopicExists(CatalogueError):
    pass


class UnknownTopic(CatalogueError):
    pass


class InvalidPartitions(CatalogueError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Topic:
    id: TopicId
    org_id: OrgId
    name: str
    partition_count: int
    config: dict[str, str]
    created_at: int

    @property
    def uuid(self) -> uuid.UUID:
        found = _UUIDS.get(self.id)
        if found is None:
            if len(_UUIDS) > 200_000:
                _UUIDS.clear()
            found = _UUIDS[self.id] = uuid.UUID(hex=self.id)
        return found


_UUIDS: dict[str, uuid.UUID] = {}  # topic id -> its UUID (Metadata names every topic's)


class LeaseRow(NamedTuple):
    """A partition's lease as the catalogue has it (the fields of PartitionState that the
    lease keeper and Metadata read)."""

    topic_id: TopicId
    partition: int
    leader_agent: AgentId | None
    leader_epoch: int
    lease_expires_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionState:
    topic_id: TopicId
    partition: int
    leader_agent: AgentId | None
    leader_epoch: int
    lease_expires_at: int
    high_watermark: int
    log_start_offset: int
    size_bytes: int
    last_append_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    topic_id: TopicId
    partition: int
    base_offset: int
    last_offset: int
    object_key: str
    byte_start: int
    byte_length: int
    first_timestamp: int
    max_timestamp: int
    record_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerState:
    topic_id: TopicId
    partition: int
    producer_id: int
    producer_epoch: int
    first_sequence: int
    last_sequence: int
    base_offset: int
    last_offset: int
    # The producer's batches (same epoch) before this one, oldest first, at most four, as
    # (first_sequence, last_sequence, base_offset, last_offset): with this one, the five
    # that Kafka remembers, so a new leader still recognises a retried in-flight batch.
    earlier: tuple[tuple[int, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    id: AgentId
    broker_id: int
    host: str
    port: int
    rack: str | None
    group: str
    started_at: int
    heartbeat_at: int
    bytes_written: int = 0  # since it started, as of its last heartbeat
    records_written: int = 0
    # advertised "host:port" by security protocol (PLAINTEXT, SASL_SSL, ...)
    listeners: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class FlushCommit:
    """What one flush makes durable: one object and its chunks, under lease epochs."""

    agent_id: AgentId
    object_key: str
    org_id: OrgId
    object_size: int
    chunks: list[Chunk]
    epochs: dict[tuple[TopicId, int], int]
    producer_states: list[ProducerState] = field(default_factory=list)


_TOPIC_COLS = "id, org_id, name, partition_count, config, created_at"
_PARTITION_COLS = (
    "topic_id, partition, leader_agent, leader_epoch, lease_expires_at, high_watermark, "
    "log_start_offset, size_bytes, last_append_at"
)
_CHUNK_COLS = (
    "topic_id, partition, base_offset, last_offset, object_key, byte_start, byte_length, "
    "first_timestamp, max_timestamp, record_count"
)


_LOCK_BATCH = 4000  # keys per statement (two parameters each; PostgreSQL allows 65,535)


@functools.lru_cache(maxsize=64)
def _lock_sql(n: int, postgres: bool) -> str:
    # PostgreSQL: the VALUES list's second column typed for the row comparison, and the rows
    # locked in one order (see _in_lock_order).
    cast = "::integer" if postgres else ""
    values = ", ".join(f"(${2 * i + 1}, ${2 * i + 2}{cast})" for i in range(n))
    order = ' ORDER BY topic_id COLLATE "C", partition FOR UPDATE' if postgres else ""
    return ("SELECT topic_id, partition, leader_agent, leader_epoch FROM partitions"
            f" WHERE (topic_id, partition) IN (VALUES {values}){order}")


async def _lock_partitions(
    tx: Session, keys: list[tuple[TopicId, int]]
) -> dict[tuple[TopicId, int], tuple[str | None, int]]:
    """(leader, epoch) of these partitions, their rows locked (PostgreSQL) in (topic id,
    partition) order, in one statement per few thousand keys whatever their number."""
    out: dict[tuple[TopicId, int], tuple[str | None, int]] = {}
    postgres = tx.dialect == "postgresql"
    for start in range(0, len(keys), _LOCK_BATCH):
        batch = keys[start:start + _LOCK_BATCH]
        rows = await tx.fetch(_lock_sql(len(batch), postgres), *[v for key in batch for v in key])
        for r in rows:
            out[(TopicId(str(r[0])), int(r[1]))] = (r[2], int(r[3]))
    return out


async def _bump_topics(tx: Session) -> None:
    await tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'topics_version'")


def _topic(row: Any) -> Topic:
    return Topic(
        id=TopicId(row[0]),
        org_id=OrgId(row[1]),
        name=row[2],
        partition_count=int(row[3]),
        config=json.loads(row[4]),
        created_at=int(row[5]),
    )


def _partition(row: Any) -> PartitionState:
    return PartitionState(
        topic_id=TopicId(row[0]),
        partition=int(row[1]),
        leader_agent=AgentId(row[2]) if row[2] is not None else None,
        leader_epoch=int(row[3]),
        lease_expires_at=int(row[4]),
        high_watermark=int(row[5]),
        log_start_offset=int(row[6]),
        size_bytes=int(row[7]),
        last_append_at=int(row[8]),
    )


def _chunk(row: Any) -> Chunk:
    return Chunk(
        topic_id=TopicId(row[0]),
        partition=int(row[1]),
        base_offset=int(row[2]),
        last_offset=int(row[3]),
        object_key=row[4],
        byte_start=int(row[5]),
        byte_length=int(row[6]),
        first_timestamp=int(row[7]),
        max_timestamp=int(row[8]),
        record_count=int(row[9]),
    )


class Catalogue:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.offsets = OffsetStore(driver)
        self.registry = RegistryStore(driver)
        self.tenants = TenantStore(driver)
        self.quotas = QuotaStore(driver)
        self.acls = AclStore(driver)

    @classmethod
    def from_url(cls, url: str) -> Catalogue:
        return cls(driver_for(url))

    @property
    def dialect(self) -> str:
        return self.driver.dialect

    async def open(self) -> None:
        await self.driver.open()
        await migrate(self.driver)

    async def close(self) -> None:
        await self.driver.close()

    async def ping(self) -> None:
        await self.driver.fetchrow("SELECT 1")

    # -- agents ---------------------------------------------------------------

    async def register_agent(
        self,
        agent_id: AgentId,
        host: str,
        port: int,
        rack: str | None = None,
        group: str = "default",
        listeners: dict[str, str] | None = None,
    ) -> Agent:
        now = now_ms()
        listeners = listeners or {}
        advertised = json.dumps(listeners, sort_keys=True)
        async with self.driver.transaction() as tx:
            if tx.dialect == "postgresql":  # agents starting together must not share a broker id
                await tx.execute("SELECT pg_advisory_xact_lock(7282)")
            row = await tx.fetchrow(
                "SELECT broker_id, started_at FROM agents WHERE id = $1", agent_id
            )
            if row is None:
                nxt = await tx.fetchrow("SELECT COALESCE(MAX(broker_id), 0) + 1 FROM agents")
                broker_id = int(nxt[0]) if nxt else 1
                await tx.execute(
                    "INSERT INTO agents (id, broker_id, host, port, rack, agent_group, started_at,"
                    " heartbeat_at, listeners) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    agent_id,
                    broker_id,
                    host,
                    port,
                    rack,
                    group,
                    now,
                    now,
                    advertised,
                )
            else:
                broker_id = int(row[0])
                await tx.execute(
                    "UPDATE agents SET host = $2, port = $3, rack = $4, agent_group = $5,"
                    " started_at = $6, heartbeat_at = $6, listeners = $7 WHERE id = $1",
                    agent_id,
                    host,
                    port,
                    rack,
                    group,
                    now,
                    advertised,
                )
        return Agent(
            id=agent_id,
            broker_id=broker_id,
            host=host,
            port=port,
            rack=rack,
            group=group,
            started_at=now,
            heartbeat_at=now,
            listeners=listeners,
        )

    async def heartbeat(
        self, agent_id: AgentId, *, bytes_written: int = 0, records_written: int = 0
    ) -> None:
        await self.driver.execute(
            "UPDATE agents SET heartbeat_at = $2, bytes_written = $3, records_written = $4"
            " WHERE id = $1",
            agent_id,
            now_ms(),
            bytes_written,
            records_written,
        )

    async def mark_stopped(self, agent_id: AgentId) -> None:
        """A graceful stop: the agent shows as stale at once."""
        await self.driver.execute("UPDATE agents SET heartbeat_at = 0 WHERE id = $1", agent_id)

    async def list_agents(self) -> list[Agent]:
        rows = await self.driver.fetch(
            "SELECT id, broker_id, host, port, rack, agent_group, started_at, heartbeat_at,"
            " bytes_written, records_written, listeners FROM agents ORDER BY broker_id"
        )
        return [
            Agent(
                id=AgentId(r[0]),
                broker_id=int(r[1]),
                host=r[2],
                port=int(r[3]),
                rack=r[4],
                group=r[5],
                started_at=int(r[6]),
                heartbeat_at=int(r[7]),
                bytes_written=int(r[8]),
                records_written=int(r[9]),
                listeners=json.loads(r[10] or "{}"),
            )
            for r in rows
        ]

    # -- topics ---------------------------------------------------------------

    async def create_topic(
        self,
        name: str,
        partitions: int,
        config: dict[str, str] | None = None,
        org_id: OrgId = DEFAULT_ORG,
        *,
        leader: AgentId | None = None,
        lease_ttl_ms: int = 0,
    ) -> Topic:
        """A new topic and its partitions; with `leader`, that agent holds their leases (epoch 1)."""
        if partitions < 1:
            raise InvalidPartitions("a topic needs at least one partition")
        topic = Topic(
            id=TopicId(uuid.uuid4().hex),
            org_id=org_id,
            name=name,
            partition_count=partitions,
            config=dict(config or {}),
            created_at=now_ms(),
        )
        async with self.driver.transaction() as tx:
            if await tx.fetchrow(
                "SELECT 1 FROM topics WHERE org_id = $1 AND name = $2", org_id, name
            ):
                raise TopicExists(f"topic {name!r} already exists")
            await tx.execute(
                f"INSERT INTO topics ({_TOPIC_COLS}) VALUES ($1, $2, $3, $4, $5, $6)",
                topic.id,
                org_id,
                name,
                partitions,
                json.dumps(topic.config),
                topic.created_at,
            )
            await self._insert_partitions(tx, topic.id, range(partitions), leader, lease_ttl_ms)
            await _bump_topics(tx)
        return topic

    async def _insert_partitions(
        self,
        tx: Session,
        topic_id: TopicId,
        numbers: Iterable[int],
        leader: AgentId | None,
        lease_ttl_ms: int,
    ) -> None:
        epoch, expires = (1, now_ms() + lease_ttl_ms) if leader is not None else (0, 0)
        await tx.executemany(
            "INSERT INTO partitions (topic_id, partition, leader_agent, leader_epoch,"
            " lease_expires_at) VALUES ($1, $2, $3, $4, $5)",
            [(topic_id, p, leader, epoch, expires) for p in numbers],
        )

    async def get_topic(self, name: str, org_id: OrgId = DEFAULT_ORG) -> Topic | None:
        row = await self.driver.fetchrow(
            f"SELECT {_TOPIC_COLS} FROM topics WHERE org_id = $1 AND name = $2", org_id, name
        )
        return _topic(row) if row else None

    async def get_topic_by_id(self, topic_id: TopicId) -> Topic | None:
        row = await self.driver.fetchrow(
            f"SELECT {_TOPIC_COLS} FROM topics WHERE id = $1", topic_id
        )
        return _topic(row) if row else None

    async def topics_version(self) -> int:
        """The counter every topic change bumps (create, delete, partitions, configs)."""
        row = await self.driver.fetchrow("SELECT value FROM counters WHERE name = 'topics_version'")
        return int(row[0]) if row is not None else 0

    async def list_all_topics(self) -> list[Topic]:
        """Every organization's topics, in one query (an agent's topic cache reload)."""
        rows = await self.driver.fetch(f"SELECT {_TOPIC_COLS} FROM topics")
        return [_topic(r) for r in rows]

    async def list_topics(self, org_id: OrgId = DEFAULT_ORG) -> list[Topic]:
        rows = await self.driver.fetch(
            f"SELECT {_TOPIC_COLS} FROM topics WHERE org_id = $1 ORDER BY name", org_id
        )
        return [_topic(r) for r in rows]

    async def delete_topic(self, name: str, org_id: OrgId = DEFAULT_ORG) -> Topic:
        async with self.driver.transaction() as tx:
            row = await tx.fetchrow(
                f"SELECT {_TOPIC_COLS} FROM topics WHERE org_id = $1 AND name = $2", org_id, name
            )
            if row is None:
                raise UnknownTopic(f"topic {name!r} does not exist")
            topic = _topic(row)
            await tx.execute("DELETE FROM chunks WHERE topic_id = $1", topic.id)
            await tx.execute("DELETE FROM producer_states WHERE topic_id = $1", topic.id)
            await tx.execute("DELETE FROM partitions WHERE topic_id = $1", topic.id)
            await tx.execute("DELETE FROM topics WHERE id = $1", topic.id)
            await tx.execute(
                "DELETE FROM consumer_offsets WHERE org_id = $1 AND topic = $2", org_id, name
            )
            await _bump_topics(tx)
        return topic

    async def set_partition_count(
        self,
        name: str,
        count: int,
        org_id: OrgId = DEFAULT_ORG,
        *,
        leader: AgentId | None = None,
        lease_ttl_ms: int = 0,
    ) -> Topic:
        """More partitions for a topic; with `leader`, that agent holds the new ones' leases."""
        async with self.driver.transaction() as tx:
            row = await tx.fetchrow(
                f"SELECT {_TOPIC_COLS} FROM topics WHERE org_id = $1 AND name = $2", org_id, name
            )
            if row is None:
                raise UnknownTopic(f"topic {name!r} does not exist")
            topic = _topic(row)
            if count <= topic.partition_count:
                raise InvalidPartitions(
                    f"topic {name!r} has {topic.partition_count} partitions; the new count must be"
                    f" larger, got {count}"
                )
            await self._insert_partitions(
                tx, topic.id, range(topic.partition_count, count), leader, lease_ttl_ms
            )
            await tx.execute(
                "UPDATE topics SET partition_count = $2 WHERE id = $1", topic.id, count
            )
            await _bump_topics(tx)
        return Topic(
            id=topic.id,
            org_id=topic.org_id,
            name=topic.name,
            partition_count=count,
            config=topic.config,
            created_at=topic.created_at,
        )

    async def set_topic_config(
        self, name: str, config: dict[str, str], org_id: OrgId = DEFAULT_ORG
    ) -> Topic:
        async with self.driver.transaction() as tx:
            row = await tx.fetchrow(
                f"SELECT {_TOPIC_COLS} FROM topics WHERE org_id = $1 AND name = $2", org_id, name
            )
            if row is None:
                raise UnknownTopic(f"topic {name!r} does not exist")
            await tx.execute(
                "UPDATE topics SET config = $2 WHERE id = $1", row[0], json.dumps(config)
            )
            await _bump_topics(tx)
        topic = _topic(row)
        return Topic(
            id=topic.id,
            org_id=topic.org_id,
            name=topic.name,
            partition_count=topic.partition_count,
            config=dict(config),
            created_at=topic.created_at,
        )

    # -- partitions and leases ------------------------------------------------

    async def storage_by_org(self) -> dict[str, int]:
        """Bytes stored by each organization (the sum of its partitions' sizes)."""
        rows = await self.driver.fetch(
            "SELECT t.org_id, SUM(p.size_bytes) FROM partitions p JOIN topics t ON t.id = p.topic_id"
            " GROUP BY t.org_id")
        return {str(r[0]): int(r[1] or 0) for r in rows}

    async def list_partitions(self, topic_id: TopicId) -> list[PartitionState]:
        rows = await self.driver.fetch(
            f"SELECT {_PARTITION_COLS} FROM partitions WHERE topic_id = $1 ORDER BY partition",
            topic_id,
        )
        return [_partition(r) for r in rows]

    async def any_free_lease(self) -> bool:
        """Whether some partition has no live lease (released, expired or never taken)."""
        row = await self.driver.fetchrow(
            "SELECT 1 FROM partitions WHERE leader_agent IS NULL OR lease_expires_at <= $1"
            " LIMIT 1",
            now_ms(),
        )
        return row is not None

    async def lease_summary(self) -> dict[AgentId | None, tuple[int, int]]:
        """(live, expired) lease counts per holder (None: released or never taken), in one
        grouped query: a row per agent, however many partitions. The lease keeper reads
        this every tick and every partition's lease only when it changed."""
        rows = await self.driver.fetch(
            "SELECT leader_agent, SUM(CASE WHEN lease_expires_at > $1 THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN lease_expires_at > $1 THEN 0 ELSE 1 END)"
            " FROM partitions GROUP BY leader_agent",
            now_ms(),
        )
        return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}

    async def partition_leases(self) -> list[LeaseRow]:
        """Every partition's lease: the few columns the lease keeper and Metadata need, as
        named tuples (a dataclass per row cost more than the query itself with 10,000
        partitions, every tick)."""
        rows = await self.driver.fetch(
            "SELECT topic_id, partition, leader_agent, leader_epoch, lease_expires_at"
            " FROM partitions ORDER BY topic_id, partition")
        make = LeaseRow._make
        return [make(r) for r in rows]

    async def partition_totals(self, org_id: OrgId | None = None) -> tuple[int, int]:
        """(partitions, bytes stored) of one organization or of all, in one aggregate query
        (the dashboard's and the cluster page's figures, polled every few seconds)."""
        if org_id is None:
            row = await self.driver.fetchrow("SELECT COUNT(*), SUM(size_bytes) FROM partitions")
        else:
            row = await self.driver.fetchrow(
                "SELECT COUNT(*), SUM(p.size_bytes) FROM partitions p"
                " JOIN topics t ON t.id = p.topic_id WHERE t.org_id = $1", org_id)
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)

    async def list_org_partitions(self, org_id: OrgId) -> list[PartitionState]:
        """Every partition of an organization's topics, in one query (topic listings)."""
        cols = ", ".join(f"p.{c.strip()}" for c in _PARTITION_COLS.split(","))
        rows = await self.driver.fetch(
            f"SELECT {cols} FROM partitions p JOIN topics t ON t.id = p.topic_id"
            " WHERE t.org_id = $1 ORDER BY p.topic_id, p.partition", org_id)
        return [_partition(r) for r in rows]

    async def live_agents(self, window_ms: int) -> list[Agent]:
        """Agents whose last heartbeat is at most `window_ms` old."""
        since = now_ms() - window_ms
        return [a for a in await self.list_agents() if a.heartbeat_at >= since]

    async def get_partition(self, topic_id: TopicId, partition: int) -> PartitionState | None:
        row = await self.driver.fetchrow(
            f"SELECT {_PARTITION_COLS} FROM partitions WHERE topic_id = $1 AND partition = $2",
            topic_id,
            partition,
        )
        return _partition(row) if row else None

    async def acquire_lease(
        self, agent_id: AgentId, topic_id: TopicId, partition: int, ttl_ms: int,
        *, new_epoch: bool = False,
    ) -> PartitionState | None:
        """Take the partition if it is free, expired or already ours; a new holder bumps the
        epoch, and so does `new_epoch` (an agent that dropped the partition with writes still
        in flight: those must be fenced, not committed under the epoch it leads again)."""
        now = now_ms()
        async with self.driver.transaction() as tx:
            lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
            row = await tx.fetchrow(
                f"SELECT {_PARTITION_COLS} FROM partitions WHERE topic_id = $1 AND partition = $2{lock}",
                topic_id,
                partition,
            )
            if row is None:
                return None
            state = _partition(row)
            if state.leader_agent == agent_id and not new_epoch:
                epoch = state.leader_epoch
            elif state.leader_agent == agent_id:
                epoch = state.leader_epoch + 1
            elif state.leader_agent is None or state.lease_expires_at < now:
                epoch = state.leader_epoch + 1
            else:
                return None
            await tx.execute(
                "UPDATE partitions SET leader_agent = $3, leader_epoch = $4, lease_expires_at = $5"
                " WHERE topic_id = $1 AND partition = $2",
                topic_id,
                partition,
                agent_id,
                epoch,
                now + ttl_ms,
            )
        return PartitionState(
            topic_id=state.topic_id,
            partition=partition,
            leader_agent=agent_id,
            leader_epoch=epoch,
            lease_expires_at=now + ttl_ms,
            high_watermark=state.high_watermark,
            log_start_offset=state.log_start_offset,
            size_bytes=state.size_bytes,
            last_append_at=state.last_append_at,
        )

    async def acquire_free_leases(
        self, agent_id: AgentId, keys: Sequence[tuple[TopicId, int]], ttl_ms: int
    ) -> None:
        """Take every partition of `keys` that is still free or expired, each with a new
        epoch, in one transaction (a restarted agent may take thousands at once)."""
        now = now_ms()
        # Rows locked in one order by every agent: two agents taking the partitions another
        # released, each in its own order, deadlocked (PostgreSQL then aborts one, and the
        # hand-over misses its second).
        ordered = sorted(keys)
        async with self.driver.transaction() as tx:
            await tx.executemany(
                "UPDATE partitions SET leader_agent = $1, leader_epoch = leader_epoch + 1,"
                " lease_expires_at = $2 WHERE topic_id = $3 AND partition = $4"
                " AND (leader_agent IS NULL OR lease_expires_at < $5)",
                [(agent_id, now + ttl_ms, topic_id, partition, now)
                 for topic_id, partition in ordered],
            )

    async def renew_leases(self, agent_id: AgentId, ttl_ms: int) -> None:
        """Renew every lease of this agent: its partitions and the groups it coordinates."""
        await self.driver.execute(
            "UPDATE partitions SET lease_expires_at = $2 WHERE leader_agent = $1"
            f"{self._in_lock_order('leader_agent = $1')}",
            agent_id,
            now_ms() + ttl_ms,
        )
        await self.offsets.renew_coordinations(agent_id, ttl_ms)

    async def release_all_leases(self, agent_id: AgentId) -> None:
        """Hand back every lease this agent holds (a graceful stop, after the final flush)."""
        await self.driver.execute(
            "UPDATE partitions SET leader_agent = NULL, lease_expires_at = 0"
            f" WHERE leader_agent = $1{self._in_lock_order('leader_agent = $1')}",
            agent_id,
        )
        await self.offsets.release_coordinations(agent_id)

    def _in_lock_order(self, where: str) -> str:
        """On PostgreSQL, a condition that locks the rows of `where` in (topic id, partition)
        order first: every statement that locks many partition rows (a flush commit of many
        tenants, a lease renewal, taking released partitions) takes them in that one order,
        else two of them deadlock and PostgreSQL aborts one (seen with 1,000 tenants: the
        renewal failed until the leases expired)."""
        if self.dialect != "postgresql":
            return ""  # SQLite: one writer at a time
        return (" AND (topic_id, partition) IN (SELECT topic_id, partition FROM partitions"
                f" WHERE {where} ORDER BY topic_id COLLATE \"C\", partition FOR UPDATE)")

    async def release_lease(self, agent_id: AgentId, topic_id: TopicId, partition: int) -> None:
        await self.driver.execute(
            "UPDATE partitions SET leader_agent = NULL, lease_expires_at = 0"
            " WHERE topic_id = $1 AND partition = $2 AND leader_agent = $3",
            topic_id,
            partition,
            agent_id,
        )

    # -- chunks ---------------------------------------------------------------

    async def commit_flush(self, commit: FlushCommit) -> set[tuple[TopicId, int]]:
        """Commit the chunks of one flush object; returns the partitions that were fenced.

        A partition whose lease moved to another agent or epoch is fenced: its
        chunks are not committed (so its data never becomes visible).
        """
        return await self.commit_flushes([commit])

    async def commit_flushes(self, commits: list[FlushCommit]) -> set[tuple[TopicId, int]]:
        """Commit the objects of one flush in one transaction (as `commit_flush`)."""
        now = now_ms()
        fenced: set[tuple[TopicId, int]] = set()
        agents = {c.agent_id for c in commits}
        assert len(agents) <= 1, "one flush is one agent's"
        epochs = {k: v for c in commits for k, v in c.epochs.items()}
        async with self.driver.transaction() as tx:
            held = await _lock_partitions(tx, sorted(epochs))
            for key, epoch in epochs.items():
                row = held.get(key)
                if row is None or row[0] not in agents or row[1] != epoch:
                    fenced.add(key)
            for commit in commits:
                await self._commit_object(tx, commit, fenced, now)
        return fenced

    async def _commit_object(
        self, tx: Session, commit: FlushCommit, fenced: set[tuple[TopicId, int]], now: int
    ) -> None:
        chunks = [c for c in commit.chunks if (c.topic_id, c.partition) not in fenced]
        if not chunks:
            return
        await tx.execute(
            "INSERT INTO objects (key, org_id, size_bytes, created_at) VALUES ($1, $2, $3, $4)",
            commit.object_key,
            commit.org_id,
            commit.object_size,
            now,
        )
        # One statement per kind, its rows sent together (asyncpg pipelines executemany): a
        # flush of many tenants' partitions commits in a few round trips, not three per chunk.
        await tx.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [(c.topic_id, c.partition, c.base_offset, c.last_offset, c.object_key, c.byte_start,
              c.byte_length, c.first_timestamp, c.max_timestamp, c.record_count) for c in chunks],
        )
        await tx.executemany(
            "UPDATE partitions SET high_watermark = $3, size_bytes = size_bytes + $4,"
            " last_append_at = $5 WHERE topic_id = $1 AND partition = $2",
            [(c.topic_id, c.partition, c.last_offset + 1, c.byte_length, now) for c in chunks],
        )
        states = [s for s in commit.producer_states if (s.topic_id, s.partition) not in fenced]
        if states:
            await tx.executemany(
                "INSERT INTO producer_states (topic_id, partition, producer_id, producer_epoch,"
                " first_sequence, last_sequence, base_offset, last_offset, updated_at,"
                " earlier_batches) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT (topic_id, partition, producer_id) DO UPDATE SET"
                " producer_epoch = excluded.producer_epoch, first_sequence = excluded.first_sequence,"
                " last_sequence = excluded.last_sequence, base_offset = excluded.base_offset,"
                " last_offset = excluded.last_offset, updated_at = excluded.updated_at,"
                " earlier_batches = excluded.earlier_batches",
                [(s.topic_id, s.partition, s.producer_id, s.producer_epoch, s.first_sequence,
                  s.last_sequence, s.base_offset, s.last_offset, now, json.dumps(s.earlier))
                 for s in states],
            )

    async def list_chunks(
        self, topic_id: TopicId, partition: int, from_offset: int = 0, *,
        limit: int | None = None, newest: bool = False,
    ) -> list[Chunk]:
        """The chunks holding `from_offset` or later, by offset: the first `limit` of them, or
        with `newest` the last `limit`. The chunk holding `from_offset` is found by the key
        (the greatest base offset at or below it), not by scanning the partition's older rows."""
        order = "DESC" if newest else ""
        rows = await self.driver.fetch(
            f"SELECT {_CHUNK_COLS} FROM chunks WHERE topic_id = $1 AND partition = $2"
            " AND base_offset >= COALESCE((SELECT MAX(base_offset) FROM chunks"
            " WHERE topic_id = $1 AND partition = $2 AND base_offset <= $3), 0)"
            f" AND last_offset >= $3 ORDER BY base_offset {order}"
            + (" LIMIT $4" if limit is not None else ""),
            topic_id,
            partition,
            from_offset,
            *([limit] if limit is not None else []),
        )
        chunks = [_chunk(r) for r in rows]
        return chunks[::-1] if newest else chunks

    async def chunks_reaching(
        self, topic_id: TopicId, partition: int, timestamp: int, from_offset: int, limit: int
    ) -> list[Chunk]:
        """The first `limit` chunks at or after `from_offset` holding a timestamp >= `timestamp`."""
        rows = await self.driver.fetch(
            f"SELECT {_CHUNK_COLS} FROM chunks WHERE topic_id = $1 AND partition = $2"
            " AND last_offset >= $3 AND max_timestamp >= $4 ORDER BY base_offset LIMIT $5",
            topic_id, partition, from_offset, timestamp, limit,
        )
        return [_chunk(r) for r in rows]

    async def latest_chunk_by_time(
        self, topic_id: TopicId, partition: int, from_offset: int, below_offset: int
    ) -> Chunk | None:
        """The first chunk holding the greatest timestamp among offsets [from, below)."""
        row = await self.driver.fetchrow(
            f"SELECT {_CHUNK_COLS} FROM chunks WHERE topic_id = $1 AND partition = $2"
            " AND last_offset >= $3 AND base_offset < $4"
            " ORDER BY max_timestamp DESC, base_offset LIMIT 1",
            topic_id, partition, from_offset, below_offset,
        )
        return None if row is None else _chunk(row)

    async def truncate_before(
        self, topic_id: TopicId, partition: int, new_log_start: int
    ) -> list[str]:
        """Drop whole chunks below `new_log_start`; returns object keys no chunk names any more."""
        async with self.driver.transaction() as tx:
            rows = await tx.fetch(
                "SELECT object_key, byte_length FROM chunks WHERE topic_id = $1 AND partition = $2"
                " AND last_offset < $3",
                topic_id,
                partition,
                new_log_start,
            )
            if not rows:
                return []
            freed = sum(int(r[1]) for r in rows)
            await tx.execute(
                "DELETE FROM chunks WHERE topic_id = $1 AND partition = $2 AND last_offset < $3",
                topic_id,
                partition,
                new_log_start,
            )
            await tx.execute(
                "UPDATE partitions SET log_start_offset = $3,"
                " size_bytes = CASE WHEN size_bytes > $4 THEN size_bytes - $4 ELSE 0 END"
                " WHERE topic_id = $1 AND partition = $2 AND log_start_offset < $3",
                topic_id,
                partition,
                new_log_start,
                freed,
            )
            return await self._orphaned_objects(tx, {str(r[0]) for r in rows})

    async def orphaned_objects(self) -> list[str]:
        rows = await self.driver.fetch(
            "SELECT key FROM objects o WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.object_key = o.key)"
        )
        return [str(r[0]) for r in rows]

    async def _orphaned_objects(self, tx: Session, keys: set[str]) -> list[str]:
        orphaned = []
        for key in sorted(keys):
            if await tx.fetchrow("SELECT 1 FROM chunks WHERE object_key = $1", key) is None:
                orphaned.append(key)
        return orphaned

    async def forget_objects(self, keys: Iterable[str]) -> None:
        async with self.driver.transaction() as tx:
            for key in keys:
                await tx.execute("DELETE FROM objects WHERE key = $1", key)

    # -- producers ------------------------------------------------------------

    async def allocate_producer_id(self) -> int:
        async with self.driver.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE counters SET value = value + 1 WHERE name = 'producer_id' RETURNING value"
            )
        assert row is not None
        return int(row[0])

    async def load_producer_states(self, topic_id: TopicId, partition: int) -> list[ProducerState]:
        rows = await self.driver.fetch(
            "SELECT producer_id, producer_epoch, first_sequence, last_sequence, base_offset,"
            " last_offset, earlier_batches FROM producer_states"
            " WHERE topic_id = $1 AND partition = $2",
            topic_id,
            partition,
        )
        return [
            ProducerState(
                topic_id=topic_id,
                partition=partition,
                producer_id=int(r[0]),
                producer_epoch=int(r[1]),
                first_sequence=int(r[2]),
                last_sequence=int(r[3]),
                base_offset=int(r[4]),
                last_offset=int(r[5]),
                earlier=tuple((int(a), int(b), int(c), int(d)) for a, b, c, d in json.loads(r[6])),
            )
            for r in rows
        ]
