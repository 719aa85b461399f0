"""Topics: list, describe, create (explicitly or on first use), alter configs, add
partitions, delete. Names are checked here once, for every door."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

from coordinator.catalogue import PartitionState, Topic, TopicId
from storage.topic_config import DEFAULTS
from storage.topic_config import validate as _validate

from . import errors
from .acls import Operation as Op
from .acls import ResourceType
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

log = structlog.get_logger("streamhouse.topics")

_LEGAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

# Where a config value comes from (Kafka's DescribeConfigs config_source).
SOURCE_TOPIC, SOURCE_STATIC_BROKER, SOURCE_DEFAULT = 1, 4, 5

ConfigOp = Literal["set", "delete", "append", "subtract"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChange:
    name: str
    op: ConfigOp
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigEntry:
    name: str
    value: str
    source: int  # SOURCE_*
    read_only: bool

    @property
    def is_default(self) -> bool:
        return self.source == SOURCE_DEFAULT


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicDescription:
    topic: Topic
    partitions: list[PartitionState]

    @property
    def records(self) -> int:
        return sum(p.high_watermark - p.log_start_offset for p in self.partitions)

    @property
    def size_bytes(self) -> int:
        return sum(p.size_bytes for p in self.partitions)


def invalid_name(name: str | None) -> str | None:
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


def check_config(config: dict[str, str | None]) -> dict[str, str]:
    try:
        return _validate(config)
    except Exception as exc:  # storage's InvalidConfig, as the broker's
        raise errors.translate(exc) from exc


class Topics:
    def __init__(self, broker: Broker) -> None:
        self._b = broker

    # -- reading ----------------------------------------------------------------------

    async def get(self, ctx: RequestContext, name: str, *, refresh: bool = False,
                  op: Op | None = Op.DESCRIBE) -> Topic | None:
        """The organization's topic of that name, from the agent's cache unless `refresh`.
        The caller must be allowed `op` on it (None: the caller checked already), whether it
        exists or not, so that a refusal tells nothing about its existence (as Kafka)."""
        if op is not None:
            self._b.auth.require_topic(ctx, op, name)
        return await self._b.logs.topic(name, org_id=ctx.org_id, refresh=refresh)

    async def require(self, ctx: RequestContext, name: str, *, refresh: bool = False,
                      op: Op | None = Op.DESCRIBE) -> Topic:
        topic = await self.get(ctx, name, refresh=refresh, op=op)
        if topic is None:
            raise errors.UnknownTopicOrPartition(f"topic {name!r} does not exist")
        return topic

    async def by_id(self, ctx: RequestContext, topic_id: str) -> Topic | None:
        topic = await self._b.catalogue.get_topic_by_id(TopicId(topic_id))
        if topic is None or topic.org_id != ctx.org_id:
            return None
        self._b.auth.require_topic(ctx, Op.DESCRIBE, topic.name)
        return topic

    async def list_topics(self, ctx: RequestContext) -> list[Topic]:
        """The organization's topics the caller may describe: from the agent's topic cache
        (which follows the catalogue's topics version), or the catalogue before its first
        reload."""
        topics = self._b.logs.topics_of(ctx.org_id)
        if topics is None:
            topics = await self._b.catalogue.list_topics(ctx.org_id)
            for topic in topics:
                self._b.logs.update_topic(topic)
        auth = self._b.auth
        return [t for t in topics if auth.permits(ctx, Op.DESCRIBE, ResourceType.TOPIC, t.name)]

    def authorized_operations(self, ctx: RequestContext, name: str) -> int:
        return self._b.acls.authorized_operations(ctx, ResourceType.TOPIC, name)

    async def partitions(self, ctx: RequestContext, topic: Topic) -> list[PartitionState]:
        return await self._b.catalogue.list_partitions(topic.id)

    async def describe(self, ctx: RequestContext, name: str) -> TopicDescription:
        topic = await self.require(ctx, name, refresh=True)
        return TopicDescription(topic=topic, partitions=await self.partitions(ctx, topic))

    async def describe_all(self, ctx: RequestContext) -> list[TopicDescription]:
        """Every topic the caller may describe with its partitions: two reads whatever the
        number of topics (the REST list, the console's topics page)."""
        topics = await self.list_topics(ctx)
        try:
            states = await self._b.catalogue.list_org_partitions(ctx.org_id)
        except Exception as exc:
            raise errors.translate(exc) from exc
        by_topic: dict[str, list[PartitionState]] = {}
        for st in states:
            by_topic.setdefault(st.topic_id, []).append(st)
        return [TopicDescription(topic=t, partitions=by_topic.get(t.id, [])) for t in topics]

    def config_entries(self, topic: Topic, keys: Iterable[str] | None = None) -> list[ConfigEntry]:
        """Every config of a topic, its overrides and the defaults, by name."""
        wanted = set(keys) if keys is not None else None
        values = {**DEFAULTS, **topic.config}
        return [
            ConfigEntry(name=k, value=v, read_only=False,
                        source=SOURCE_TOPIC if k in topic.config else SOURCE_DEFAULT)
            for k, v in sorted(values.items())
            if wanted is None or k in wanted
        ]

    # -- creating ---------------------------------------------------------------------

    async def create(
        self,
        ctx: RequestContext,
        name: str,
        partitions: int | None = None,
        config: dict[str, str | None] | None = None,
        *,
        replication_factor: int = -1,
        validate_only: bool = False,
    ) -> Topic:
        """Create a topic (when only validating, the topic it would be, with a zero id). Partitions default to the broker's
        `default_partitions`; replication is the object store's, so 1-3 are accepted."""
        self._b.auth.require_create_topic(ctx, name)
        reason = invalid_name(name)
        if reason:
            raise errors.InvalidTopic(reason)
        count = self._b.options.default_partitions if partitions in (None, -1) else partitions
        assert count is not None
        if count < 1:
            raise errors.InvalidPartitions(f"a topic needs at least 1 partition, got {count}")
        if replication_factor not in (-1, 1, 2, 3):
            raise errors.InvalidReplicationFactor(
                "replication is the object store's; use -1, 1, 2 or 3"
            )
        checked = check_config(config or {})
        await self._check_counts(ctx, topics=1, partitions=count)
        if validate_only:
            if await self.get(ctx, name, refresh=True) is not None:
                raise errors.TopicAlreadyExists(f"topic {name!r} already exists")
            return Topic(id=TopicId("0" * 32), org_id=ctx.org_id, name=name,
                         partition_count=count, config=checked, created_at=0)
        leader = self._b.cluster.leader_for_new()
        try:
            topic = await self._b.catalogue.create_topic(
                name, count, checked, org_id=ctx.org_id,
                leader=leader, lease_ttl_ms=self._b.logs.options.lease_ttl_ms,
            )
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._b.logs.update_topic(topic)
        if leader is not None:
            self._b.logs.adopt_new(topic, range(count))
        log.info("topic_created", org=ctx.org_id, topic=name, partitions=count,
                 principal=ctx.principal.name)
        return topic

    async def get_or_create(self, ctx: RequestContext, name: str, *,
                            checked: bool = False) -> Topic | None:
        """The topic, created on first use when auto-creation is on and the name is legal
        (as Kafka's `auto.create.topics.enable`); None when it does not exist. `checked`: the
        caller was authorized for what it does with it (a produce: WRITE), else DESCRIBE."""
        topic = await self.get(ctx, name, op=None if checked else Op.DESCRIBE)
        if topic is None and self._b.options.auto_create_topics and invalid_name(name) is None:
            # As Kafka: a topic that would be created for a caller who may not create
            # topics answers TOPIC_AUTHORIZATION_FAILED.
            self._b.auth.require_create_topic(ctx, name)
            try:
                topic = await self.create(ctx, name)
            except errors.TopicAlreadyExists:  # created meanwhile by another request or agent
                topic = await self.get(ctx, name, refresh=True, op=None)
        return topic

    # -- changing ---------------------------------------------------------------------

    async def alter_config(
        self,
        ctx: RequestContext,
        name: str,
        changes: Iterable[ConfigChange],
        *,
        incremental: bool = True,
        validate_only: bool = False,
    ) -> Topic:
        """Change a topic's overrides: incrementally (set/delete/append/subtract, as
        IncrementalAlterConfigs and REST's PATCH), or replace them all (AlterConfigs)."""
        self._b.auth.require_topic(ctx, Op.ALTER_CONFIGS, name)
        topic = await self.require(ctx, name, refresh=True, op=None)  # (ALTER_CONFIGS is checked)
        config = _apply(dict(topic.config), list(changes), incremental)
        checked = check_config(dict(config))
        if validate_only:
            return topic
        try:
            topic = await self._b.catalogue.set_topic_config(topic.name, checked, ctx.org_id)
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._b.logs.update_topic(topic)
        return topic

    async def add_partitions(
        self, ctx: RequestContext, name: str, count: int, *, validate_only: bool = False
    ) -> Topic:
        """Grow a topic to `count` partitions (Kafka's CreatePartitions, REST's PATCH)."""
        self._b.auth.require_topic(ctx, Op.ALTER, name)
        before = await self.require(ctx, name, refresh=True, op=None)  # (ALTER is checked)
        if count <= before.partition_count:
            raise errors.InvalidPartitions(
                f"topic {name!r} has {before.partition_count} partitions; the new count must be"
                f" larger, got {count}"
            )
        await self._check_counts(ctx, topics=0, partitions=count - before.partition_count)
        if validate_only:
            return before
        leader = self._b.cluster.leader_for_new()
        try:
            topic = await self._b.catalogue.set_partition_count(
                name, count, leader=leader, lease_ttl_ms=self._b.logs.options.lease_ttl_ms,
                org_id=ctx.org_id,
            )
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._b.logs.update_topic(topic)
        if leader is not None:
            self._b.logs.adopt_new(topic, range(before.partition_count, count))
        log.info("partitions_added", org=ctx.org_id, topic=name, partitions=count)
        return topic

    async def _check_counts(self, ctx: RequestContext, *, topics: int, partitions: int) -> None:
        limits = await self._b.quotas.limits(ctx.org_id)
        if ("", "topics") not in limits and ("", "partitions") not in limits:
            return
        existing = await self._b.catalogue.list_topics(ctx.org_id)
        quotas = self._b.quotas
        await quotas.check_count(ctx, "topics", len(existing) + topics)
        await quotas.check_count(ctx, "partitions",
                                 sum(t.partition_count for t in existing) + partitions)

    async def delete(self, ctx: RequestContext, name: str) -> Topic:
        """Delete a topic, its catalogue rows and then its objects."""
        self._b.auth.require_topic(ctx, Op.DELETE, name)
        if await self.get(ctx, name, refresh=True, op=None) is None:  # (DELETE is checked)
            raise errors.UnknownTopicOrPartition(f"topic {name!r} does not exist")
        try:
            topic = await self._b.catalogue.delete_topic(name, ctx.org_id)
            await self._b.logs.delete_topic_data(topic)
        except Exception as exc:
            raise errors.translate(exc) from exc
        log.info("topic_deleted", org=ctx.org_id, topic=name, principal=ctx.principal.name)
        return topic


def _apply(config: dict[str, str], changes: list[ConfigChange], incremental: bool) -> dict[str, str]:
    if not incremental:  # AlterConfigs replaces the whole set of overrides
        return {c.name: c.value for c in changes if c.value is not None}
    for c in changes:
        if c.op == "set":
            if c.value is None:
                raise errors.InvalidConfig(f"SET of {c.name!r} needs a value")
            config[c.name] = c.value
        elif c.op == "delete":
            config.pop(c.name, None)
        else:
            if c.name != "cleanup.policy":
                raise errors.InvalidConfig(
                    f"{c.name!r} is not a list config; APPEND/SUBTRACT do not apply"
                )
            items = [i for i in config.get(c.name, DEFAULTS[c.name]).split(",") if i]
            for v in (c.value or "").split(","):
                if c.op == "append" and v and v not in items:
                    items.append(v)
                if c.op == "subtract" and v in items:
                    items.remove(v)
            config[c.name] = ",".join(items) or DEFAULTS[c.name]
    return config
