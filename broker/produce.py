"""Produce: leadership, the topic's schema policy, validation and append, and the wait for
the acks asked (DESIGN.md §4). Both doors call `produce`; they differ only in the options
they pass, decided here once (docs/ARCHITECTURE.md, "Where the doors differ"):

- Kafka clients route by Metadata and retry NOT_LEADER_OR_FOLLOWER themselves, so the Kafka
  door answers it per partition; a REST client cannot, so the REST door asks for
  `forward=True` and partitions led by another agent are handed to it.
- Kafka answers each partition on its own; REST answers one status for the request, so it
  asks `all_or_nothing=True`: every refusal that can be known before writing (schema,
  size, buffer room) is checked for all partitions before any is appended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from coordinator.catalogue import Agent, Topic
from storage import metrics as _metrics
from storage.log import AppendResult
from storage.partition import PartitionLog

from . import errors, metrics
from .acls import Operation as Op
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

log = structlog.get_logger("streamhouse.produce")

# How long a producer is asked to hold off when the write buffer is full (the store is behind).
BACKPRESSURE_THROTTLE_MS = 500
# Record sets this agent may have in flight to one other agent (forwarded for REST, which
# does not know the leaders): past that the leader is slow, and waiting on it would hold
# this agent's own requests behind it. The next is refused at once with the retriable
# NOT_LEADER_OR_FOLLOWER, so the caller retries, or a Kafka client goes to the leader.
FORWARD_CREDITS = 256


@dataclass(slots=True, kw_only=True)
class PartitionProduced:
    partition: int
    base_offset: int = -1
    log_start_offset: int = -1
    log_append_time: int = -1  # ms, when the topic uses LogAppendTime
    error: errors.BrokerError | None = None
    wait: asyncio.Future[None] | None = field(default=None, repr=False)


@dataclass(slots=True, kw_only=True)
class TopicProduced:
    name: str
    topic: Topic | None
    partitions: list[PartitionProduced]


@dataclass(slots=True, kw_only=True)
class ProduceResult:
    topics: list[TopicProduced]
    throttle_ms: int = 0

    def first_error(self) -> errors.BrokerError | None:
        for t in self.topics:
            for p in t.partitions:
                if p.error is not None:
                    return p.error
        return None


TopicWrite = tuple[str, Sequence[tuple[int, bytes | None]]]  # topic name, (partition, records)


class Produce:
    def __init__(self, broker: Broker) -> None:
        self._b = broker
        self._forwarding: dict[str, int] = {}  # record sets in flight, per leader agent

    async def produce(
        self,
        ctx: RequestContext,
        writes: Sequence[TopicWrite],
        *,
        acks: int,
        timeout_s: float,
        forward: bool = False,
        all_or_nothing: bool = False,
        refuse_over_quota: bool = False,
        charged: bool = False,
    ) -> ProduceResult:
        """Append each partition's record set and wait as `acks` asks (0: not at all, 1: the
        WAL, -1: the flush commit, at most `timeout_s`). Refusals are per partition.

        Over its byte-rate quota a caller is throttled (the records are taken, the result
        says how long to hold off), or with `refuse_over_quota` (HTTP, which cannot mute a
        client) refused with QuotaExceeded while it is over. `charged`: the door charged the
        bytes already (the Kafka door does, as it reads the request)."""
        started = time.perf_counter()
        quotas = self._b.quotas
        if refuse_over_quota:
            debt = await quotas.debt_ms(ctx, "producer_byte_rate")
            if debt:
                raise errors.QuotaExceeded(
                    f"over the producer_byte_rate quota: retry in {debt} ms",
                    retry_after_ms=debt)
        # Nothing here may suspend before the appends (see Quotas.check_storage_now).
        quotas.check_storage_now(ctx)
        if acks not in (0, 1, -1):
            refusal = errors.InvalidRequiredAcks(f"acks must be 0, 1 or -1 (all), got {acks}")
            return ProduceResult(topics=[
                TopicProduced(name=name, topic=None, partitions=[
                    PartitionProduced(partition=p, error=refusal) for p, _r in parts])
                for name, parts in writes])
        result = ProduceResult(topics=[])
        forwards: list[tuple[PartitionProduced, Topic, bytes]] = []
        for name, parts in writes:
            produced = [PartitionProduced(partition=p) for p, _r in parts]
            try:
                self._b.auth.require_topic(ctx, Op.WRITE, name)
            except errors.NotAuthorized as denied:
                for entry in produced:
                    entry.error = denied
                result.topics.append(TopicProduced(name=name, topic=None, partitions=produced))
                if all_or_nothing:
                    raise denied
                continue
            try:
                topic = await self._b.topics.get_or_create(ctx, name, checked=True)
            except errors.NotAuthorized as exc:
                if all_or_nothing:
                    raise
                for entry in produced:
                    entry.error = exc
                result.topics.append(TopicProduced(name=name, topic=None, partitions=produced))
                continue
            result.topics.append(TopicProduced(name=name, topic=topic, partitions=produced))
            if topic is None:
                for entry in produced:
                    entry.error = errors.UnknownTopicOrPartition(f"topic {name!r} does not exist")
                continue
            plogs: list[PartitionLog | None] = []
            for entry, (_p, records) in zip(produced, parts, strict=True):
                plogs.append(await self._admit(ctx, topic, entry, records))
            if all_or_nothing:
                if (error := result.first_error()) is not None:
                    raise error
                self._check_room(topic, plogs, parts, forward)
            for entry, plog, (_p, records) in zip(produced, plogs, parts, strict=True):
                if plog is None or records is None:
                    continue
                if forward and not plog.is_leader:
                    forwards.append((entry, topic, records))
                    continue
                try:
                    appended = self._b.logs.append(plog, records, acks=acks)
                except Exception as exc:
                    entry.error = self._refused(ctx, topic, entry.partition, exc)
                    if isinstance(entry.error, errors.Backpressure):
                        result.throttle_ms = BACKPRESSURE_THROTTLE_MS
                    continue
                _appended(entry, appended, acks)
        if forwards:
            await asyncio.gather(*(self._forward(ctx, e, t, r, acks) for e, t, r in forwards))
        taken = sum(len(r) for _n, parts in writes for _p, r in parts if r)
        metrics.bytes_in(ctx.org_id, taken)
        if not charged:
            result.throttle_ms = max(result.throttle_ms,
                                     await quotas.charge(ctx, "producer_byte_rate", taken))
        if acks != 0:
            await _wait(result, timeout_s)
        metrics.labelled(_metrics.PRODUCER_LATENCY, str(acks)).observe(
            time.perf_counter() - started)
        return result

    async def topic_for(self, ctx: RequestContext, name: str) -> Topic:
        """The topic a caller may write to, created on first use (REST places its records
        on the topic's partitions before it produces)."""
        self._b.auth.require_topic(ctx, Op.WRITE, name)
        topic = await self._b.topics.get_or_create(ctx, name, checked=True)
        if topic is None:
            raise errors.UnknownTopicOrPartition(f"topic {name!r} does not exist")
        return topic

    async def _admit(
        self, ctx: RequestContext, topic: Topic, entry: PartitionProduced, records: bytes | None
    ) -> PartitionLog | None:
        """The partition's log if the record set may be appended (the entry's error if not)."""
        if not records:
            entry.error = errors.CorruptRecord("empty record set")
            return None
        try:
            plog = await self._b.logs.partition(topic, entry.partition)
        except Exception as exc:
            entry.error = errors.translate(exc)
            return None
        refusal = await self._b.schema_policy.check(topic.org_id, topic.name, topic.config,
                                                    records)
        if refusal is not None:
            entry.error = errors.InvalidRecord(f"schema validation failed: {refusal}",
                                               batch_index=_index_of(refusal))
            log.info("produce_refused", org=ctx.org_id, peer=ctx.peer, topic=topic.name,
                     partition=entry.partition, error="invalid_record", reason=refusal)
            return None
        return plog

    def _check_room(
        self,
        topic: Topic,
        plogs: list[PartitionLog | None],
        parts: Sequence[tuple[int, bytes | None]],
        forward: bool,
    ) -> None:
        """Before any append of an all-or-nothing request: sizes and buffer room."""
        local = 0
        for plog, (_p, records) in zip(plogs, parts, strict=True):
            if plog is None or records is None or (forward and not plog.is_leader):
                continue
            try:
                self._b.logs.check_batch_size(plog, len(records))
                # Each partition's credit too (partition_buffer_share), before any append.
                self._b.logs.buffer.check_capacity(len(records), plog=plog)
            except Exception as exc:
                raise errors.translate(exc) from exc
            local += len(records)
        try:
            self._b.logs.buffer.check_capacity(local)
        except Exception as exc:
            raise errors.translate(exc) from exc

    def _refused(
        self, ctx: RequestContext, topic: Topic, partition: int, exc: Exception
    ) -> errors.BrokerError:
        error = errors.translate(exc)
        if not isinstance(error, errors.NotLeaderOrFollower):
            log.info("produce_refused", org=ctx.org_id, peer=ctx.peer, topic=topic.name,
                     partition=partition, error=error.kafka_code.name, reason=str(exc))
        return error

    async def _forward(
        self, ctx: RequestContext, entry: PartitionProduced, topic: Topic, records: bytes,
        acks: int,
    ) -> None:
        try:
            entry.base_offset = await self.forward(ctx, topic, entry.partition, records,
                                                   acks=-1 if acks == -1 else 1)
        except errors.BrokerError as exc:
            entry.error = errors.NotLeaderOrFollower(
                f"partition {entry.partition} of {topic.name} is led by another agent that did"
                f" not take the records: {exc}; the other partitions' records were written")

    async def forward(
        self, ctx: RequestContext, topic: Topic, partition: int, records: bytes, *, acks: int
    ) -> int:
        """Produce a record set at whichever agent leads the partition now (its base offset)."""
        leader = await self._leader(topic, partition)
        in_flight = self._forwarding.get(leader.id, 0)
        if in_flight >= FORWARD_CREDITS:
            raise errors.NotLeaderOrFollower(
                f"the leader of {topic.name}-{partition} (agent {leader.id}) has"
                f" {in_flight} record sets from this agent not yet answered; retry, or"
                " write to the leader directly")
        self._forwarding[leader.id] = in_flight + 1
        try:
            return await self._b.peers.produce(leader, topic.org_id, topic.name, partition,
                                               records, acks=acks)
        except errors.BrokerError:
            raise
        except Exception as exc:
            raise errors.NotLeaderOrFollower(
                f"the leader of {topic.name}-{partition} (agent {leader.id} at"
                f" {leader.host}:{leader.port}) did not answer: {exc}") from exc
        finally:
            left = self._forwarding[leader.id] - 1
            if left:
                self._forwarding[leader.id] = left
            else:
                del self._forwarding[leader.id]

    async def _leader(self, topic: Topic, partition: int) -> Agent:
        try:
            state = await self._b.catalogue.get_partition(topic.id, partition)
            holder = state.leader_agent if state else None
            agents = await self._b.catalogue.list_agents()
        except Exception as exc:
            raise errors.translate(exc) from exc
        agent = next((a for a in agents if a.id == holder), None)
        if agent is None:
            raise errors.NotLeaderOrFollower(f"{topic.name}-{partition} has no live leader")
        return agent


def _appended(entry: PartitionProduced, appended: AppendResult, acks: int) -> None:
    entry.base_offset = appended.base_offset
    entry.log_start_offset = appended.log_start_offset
    entry.log_append_time = appended.log_append_time
    entry.wait = appended.durable if acks == -1 else appended.logged if acks == 1 else None


async def _wait(result: ProduceResult, timeout_s: float) -> None:
    entries = [p for t in result.topics for p in t.partitions if p.wait is not None]
    pending = [p.wait for p in entries if p.wait is not None and not p.wait.done()]
    if pending:
        await asyncio.wait(pending, timeout=max(timeout_s, 0.001))
    for entry in entries:
        assert entry.wait is not None
        if not entry.wait.done():
            entry.error = errors.RequestTimedOut("the batch is buffered but not yet durable")
        elif (failure := entry.wait.exception()) is not None:
            entry.error = errors.translate(failure)


def _index_of(refusal: str) -> int:
    """The record index a validation refusal names ("record 3: ...")."""
    head = refusal.split(":", 1)[0]
    return int(head.removeprefix("record ")) if head.startswith("record ") else 0
