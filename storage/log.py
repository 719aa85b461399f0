"""The segment log of this agent: topics, partition leases, append, read, offsets, retention.

The protocol layer calls `append`, `read`, `wait_for_data` and `offset_for_*`.
Appends validate each batch's header and CRC, assign offsets by rewriting the
base offset, and hand the bytes to the write buffer; nothing here decodes
records one by one except `offset_for_timestamp` inside a single batch.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from coordinator.catalogue import (
    DEFAULT_ORG,
    AgentId,
    Catalogue,
    Chunk,
    LeaseRow,
    OrgId,
    PartitionState,
    ProducerState,
    Topic,
    TopicId,
)

from . import metrics
from .cache import ReadCache
from .errors import (
    CorruptRecordSet,
    NotLeader,
    OffsetOutOfRange,
    OutOfOrderSequence,
    RecordTooLarge,
    UnknownPartition,
)
from .flush import FlushBuffer, FlushPolicy
from .leases import LeaseKeeper
from .objectstore import ObjectStore
from .partition import PartitionLog, PendingBatch
from .producers import AppendedBatch, stored_chain
from .recordbatch import (
    InvalidBatch,
    decode_records,
    read_header,
    scan_headers,
    set_base_offset,
    set_leader_epoch,
    set_log_append_time,
    validate_record_set,
)
from .topic_config import TopicSettings
from .wal import FsyncPolicy, WalEntry, WriteAheadLog

log = structlog.get_logger("streamhouse.log")
# How often an agent checks the catalogue's topics version (one cheap query), so that a topic
# created, deleted or changed through another agent is seen here within it.
TOPICS_POLL_S = 0.5
Lease = tuple[str | None, int, int]  # a partition's leader agent, leader epoch, lease expiry (ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogOptions:
    lease_ttl_ms: int = 10_000
    recent_cache_bytes: int = 64 * 1024 * 1024
    lru_cache_bytes: int = 256 * 1024 * 1024
    retention_check_seconds: float = 30.0
    wal_dir: Path | None = None
    wal_fsync: FsyncPolicy = "interval"
    flush: FlushPolicy = FlushPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendResult:
    base_offset: int
    log_append_time: int  # -1 unless the topic uses LogAppendTime
    log_start_offset: int
    durable: asyncio.Future[None]
    logged: asyncio.Future[None] | None  # written to the WAL (acks=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadResult:
    records: bytes
    high_watermark: int
    log_start_offset: int


class LogManager:
    def __init__(
        self, *, catalogue: Catalogue, store: ObjectStore, agent_id: AgentId, options: LogOptions
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.agent_id = agent_id
        self.options = options
        self.cache = ReadCache(options.recent_cache_bytes, options.lru_cache_bytes)
        self.wal = WriteAheadLog(options.wal_dir, options.wal_fsync) if options.wal_dir else None
        self.buffer = FlushBuffer(
            store=store,
            catalogue=catalogue,
            agent_id=agent_id,
            cache=self.cache,
            wal=self.wal,
            policy=options.flush,
            on_fenced=self._fenced,
            on_orphaned=self._hand_over,
            holds_wal=lambda: bool(self._rehoming),
        )
        self._logs: dict[tuple[TopicId, int], PartitionLog] = {}
        self._opening: dict[tuple[TopicId, int], asyncio.Task[PartitionLog]] = {}
        self._topics: dict[tuple[OrgId, str], Topic] = {}  # names are per organization
        self._tasks: list[asyncio.Task[None]] = []
        self.solo = True  # no other live agent: take free partitions on first use
        self.stopping = False  # a graceful stop began: lead nothing, take no lease
        self._led_at_stop: list[PartitionLog] = []
        # Partitions dropped while this agent led them: leading them again takes a new
        # epoch, so that what the old view still had in flight is fenced at its commit.
        self._dropped: set[tuple[TopicId, int]] = set()
        self._rehoming: set[asyncio.Task[None]] = set()
        # How WAL batches of partitions now led elsewhere reach their leader (set by the app).
        # (by topic id: names are per organization)
        self.forward: Callable[[TopicId, int, bytes], Awaitable[None]] | None = None
        self._gets: dict[tuple[str, int], asyncio.Task[bytes]] = {}
        # Pages of the catalogue's chunk index for reads older than a partition's in-memory
        # index (a consumer far behind): the last page read per partition, a few in all.
        self._pages: OrderedDict[tuple[TopicId, int], list[Chunk]] = OrderedDict()
        # The catalogue's topics version as last seen: when it moves, the topic cache is
        # reloaded in bulk (a change made through another agent shows here within a poll).
        self._topics_version: int | None = None
        self._topic_reads: dict[TopicId, asyncio.Task[Topic | None]] = {}
        # Every partition's (leader, epoch, lease expiry) by topic, with when (monotonic) it
        # was read: the lease keeper's last full read (confirmed at each tick while nothing
        # changed), or a bulk read by whoever needed it
        # fresher (Metadata's leaders).
        self.leases: tuple[float, dict[TopicId, dict[int, Lease]]] | None = None
        self.leases_wall_ms = 0  # the wall-clock time of the read behind `leases`
        self._leases_read: asyncio.Task[tuple[float, dict[TopicId, dict[int, Lease]]]] | None = None

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        replay = self.wal.recover() if self.wal is not None else []
        if self.wal is not None:
            await self.wal.start()
        self.buffer.start()
        if replay:
            await self._replay(replay)
        self._tasks.append(asyncio.create_task(LeaseKeeper(self).run(), name="leases"))
        self._tasks.append(asyncio.create_task(self._retention_loop(), name="retention"))
        self._tasks.append(asyncio.create_task(self._watch_topics(), name="topics-watch"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:  # stale at once: nobody hands this agent a partition or a group from now on
            await self.catalogue.mark_stopped(self.agent_id)
        except Exception as exc:  # the heartbeat then just goes stale
            log.warning("mark_stopped_failed", error=str(exc))
        await self.buffer.stop()
        if self._rehoming:  # batches being handed over: a moment more, then the WAL keeps them
            _done, pending = await asyncio.wait(set(self._rehoming), timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.wal is not None:
            await self.wal.close()
        await self.release_leases()

    def stop_writes(self) -> None:
        """The start of a graceful stop: appends answer NOT_LEADER_OR_FOLLOWER from now on
        (clients retry at the next leader once the leases are released), and no partition
        is taken or opened as leader any more."""
        self.stopping = True
        self._led_at_stop = [plog for plog in self._logs.values() if plog.is_leader]
        for plog in self._led_at_stop:
            plog.is_leader = False

    async def release_leases(self) -> None:
        """Hand every partition back (after the final flush), so another agent takes it at once."""
        led = [plog for plog in self._logs.values() if plog.is_leader]
        for plog in led:
            plog.is_leader = False
        led += self._led_at_stop
        try:
            await self.catalogue.release_all_leases(self.agent_id)
            metrics.LEADER_CHANGES.labels("released").inc(len(led))
        except Exception as exc:  # the leases then expire on their own
            log.warning("lease_release_failed", partitions=len(led), error=str(exc))
        metrics.PARTITIONS_LED.set_function(lambda: 0)

    # -- topics ------------------------------------------------------------------------

    async def topic(
        self, name: str, *, org_id: OrgId = DEFAULT_ORG, refresh: bool = False
    ) -> Topic | None:
        key = (org_id, name)
        topic = None if refresh else self._topics.get(key)
        if topic is None:
            topic = await self.catalogue.get_topic(name, org_id)
            if topic is not None:
                self._topics[key] = topic
            else:
                self._topics.pop(key, None)
        return topic

    async def _watch_topics(self, every: float = TOPICS_POLL_S) -> None:
        while True:
            try:
                await self.sync_topics()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the catalogue down: the cache as it is
                log.debug("topics_watch_failed", error=str(exc))
            await asyncio.sleep(every)

    async def sync_topics(self) -> bool:
        """Reload every topic in one query if the catalogue's topics version moved; whether
        it did. Topics deleted elsewhere leave the cache (and their open views)."""
        version = await self.catalogue.topics_version()
        if version == self._topics_version:
            return False
        before = dict(self._topics)
        topics = await self.catalogue.list_all_topics()
        fresh = {(t.org_id, t.name): t for t in topics}
        ids = {t.id for t in topics}
        for key, cached in list(self._topics.items()):
            if key in fresh:
                continue
            if before.get(key) is not cached:
                fresh[key] = cached  # cached during the read (a create here): not stale
            elif cached.id not in ids:
                self.forget_topic(cached)  # deleted through another agent
        changed = [t for t in topics if (old := before.get((t.org_id, t.name))) is None
                   or old.config != t.config or old.id != t.id]
        self._topics = fresh
        for topic in changed:
            self._apply_settings(topic)
        self._topics_version = version
        return True

    def topics_of(self, org_id: OrgId) -> list[Topic] | None:
        """An organization's topics from memory, by name; None until the first reload (the
        cache then holds every topic, and follows the catalogue within a poll)."""
        if self._topics_version is None:
            return None
        return sorted((t for (org, _n), t in self._topics.items() if org == org_id),
                      key=lambda t: t.name)

    async def topic_by_id(self, topic_id: TopicId) -> Topic | None:
        """The topic as the catalogue has it now (one read at a time per topic)."""
        task = self._topic_reads.get(topic_id)
        if task is None:
            task = asyncio.create_task(self.catalogue.get_topic_by_id(topic_id))
            self._topic_reads[topic_id] = task
            task.add_done_callback(lambda _t: self._topic_reads.pop(topic_id, None))
        topic = await asyncio.shield(task)
        if topic is not None:
            self.update_topic(topic)
        return topic

    def publish_leases(self, read_at: float, states: Iterable[LeaseRow]) -> None:
        """The lease keeper's read of every partition, indexed for `leases_of`."""
        index: dict[TopicId, dict[int, Lease]] = {}
        for st in states:
            index.setdefault(st.topic_id, {})[st.partition] = (
                st.leader_agent, st.leader_epoch, st.lease_expires_at)
        self.leases = (read_at, index)
        self.leases_wall_ms = int(time.time() * 1000)

    def confirm_leases(self, at: float) -> None:
        """The lease keeper saw nothing change since the index was read (the same holders
        and counts, live and expired): it stays the answer, as of `at`. Its expiry times are
        those of the read; judge them against `leases_wall_ms`, not the clock."""
        if self.leases is not None:
            self.leases = (at, self.leases[1])

    async def lease_index(self, max_age_s: float = 1.0) -> dict[TopicId, dict[int, Lease]]:
        """Every topic's partitions' (leader, epoch, lease expiry), at most `max_age_s` old:
        the lease keeper's last read of every partition, else one bulk read (shared by the
        requests that ask meanwhile) — never a query per topic."""
        snap = self.leases
        if snap is None or time.monotonic() - snap[0] > max_age_s:
            if self._leases_read is None or self._leases_read.done():
                self._leases_read = asyncio.create_task(self._read_leases())
            snap = await asyncio.shield(self._leases_read)
        return snap[1]

    async def _read_leases(self) -> tuple[float, dict[TopicId, dict[int, Lease]]]:
        at = time.monotonic()
        self.publish_leases(at, await self.catalogue.partition_leases())
        assert self.leases is not None
        return self.leases

    def forget_topic(self, topic: Topic) -> None:
        self._topics.pop((topic.org_id, topic.name), None)
        for key in [k for k in self._logs if k[0] == topic.id]:
            del self._logs[key]
        for key in [k for k in self._pages if k[0] == topic.id]:
            del self._pages[key]
        self._dropped = {k for k in self._dropped if k[0] != topic.id}
        # Nothing kept for a deleted topic, its metric series neither.
        for counter in (metrics.PRODUCE_RECORDS, metrics.PRODUCE_BYTES, metrics.FETCH_BYTES,
                        metrics.FETCH_RECORDS):
            with contextlib.suppress(KeyError):
                counter.remove(topic.org_id, topic.name)

    def update_topic(self, topic: Topic) -> None:
        key = (topic.org_id, topic.name)
        before = self._topics.get(key)
        self._topics[key] = topic
        if before is None or before.config != topic.config or before.id != topic.id:
            self._apply_settings(topic)

    def _apply_settings(self, topic: Topic) -> None:
        """The topic's configs to its open partition views (a lookup per partition, never a
        scan of every open view: this runs for each topic a listing returns)."""
        settings = None
        for p in range(topic.partition_count):
            plog = self._logs.get((topic.id, p))
            if plog is not None:
                settings = settings or TopicSettings.of(topic.config)
                plog.settings = settings

    # -- partitions --------------------------------------------------------------------

    async def partition(self, topic: Topic, partition: int, *, lead: bool = False) -> PartitionLog:
        """This agent's view of a partition: as leader if it holds (or may take) the lease.

        A free lease is taken when `lead` is asked (the lease keeper, within the fair share)
        or when no other agent is alive; otherwise the view is a follower's.
        """
        key = (topic.id, partition)
        plog = self._logs.get(key)
        if plog is not None:
            return plog
        if partition >= topic.partition_count:
            # Maybe added through another agent since this one cached the topic: ask the
            # catalogue before answering that it does not exist.
            fresh = await self.topic_by_id(topic.id)
            if fresh is not None:
                topic = fresh
        if not 0 <= partition < topic.partition_count:
            raise UnknownPartition(f"{topic.name} has no partition {partition}")
        task = self._opening.get(key)
        if task is None:
            task = asyncio.create_task(self._open(topic, partition, lead=lead or self.solo))
            self._opening[key] = task
            task.add_done_callback(lambda _t: self._opening.pop(key, None))
        return await asyncio.shield(task)

    async def _open(self, topic: Topic, partition: int, *, lead: bool) -> PartitionLog:
        state = None
        current = await self.catalogue.get_partition(topic.id, partition)
        if self.stopping:
            lead = False  # the leases are being handed back
        elif current is not None and current.leader_agent == self.agent_id:
            lead = True
        if lead:
            state = await self.catalogue.acquire_lease(
                self.agent_id, topic.id, partition, self.options.lease_ttl_ms,
                new_epoch=(topic.id, partition) in self._dropped,
            )
            if state is not None:
                self._dropped.discard((topic.id, partition))
        is_leader = state is not None
        if state is None:
            state = await self.catalogue.get_partition(topic.id, partition)
        if state is None:
            raise UnknownPartition(f"{topic.name} has no partition {partition}")
        # The newest chunks only: a long log's older index stays in the catalogue.
        chunks = await self.catalogue.list_chunks(
            topic.id, partition, state.log_start_offset, limit=PartitionLog.INDEX_CHUNKS,
            newest=True,
        )
        producers = await self.catalogue.load_producer_states(topic.id, partition)
        plog = self._install(topic, state, is_leader=is_leader, chunks=chunks, producers=producers)
        log.info(
            "partition_opened",
            topic=topic.name,
            partition=partition,
            epoch=plog.leader_epoch,
            leader=is_leader,
            high_watermark=plog.high_watermark,
        )
        return plog

    def adopt_new(self, topic: Topic, partitions: Iterable[int]) -> None:
        """Lead partitions just created with this agent as their leaseholder (epoch 1, empty).

        The catalogue wrote the leases in the transaction that created the rows, so there
        is nothing to read back: no chunks, no producer state.
        """
        opened = 0
        for partition in partitions:
            if (topic.id, partition) in self._logs:
                continue
            state = PartitionState(
                topic_id=topic.id, partition=partition, leader_agent=self.agent_id,
                leader_epoch=1, lease_expires_at=0, high_watermark=0, log_start_offset=0,
                size_bytes=0, last_append_at=0,
            )
            self._install(topic, state, is_leader=True, chunks=[], producers=[])
            opened += 1
        log.info("partitions_opened", topic=topic.name, partitions=opened, epoch=1, leader=True)

    def _install(
        self,
        topic: Topic,
        state: PartitionState,
        *,
        is_leader: bool,
        chunks: list[Chunk],
        producers: Iterable[ProducerState],
    ) -> PartitionLog:
        plog = PartitionLog(
            topic_id=topic.id,
            topic_name=topic.name,
            org_id=topic.org_id,
            partition=state.partition,
            settings=TopicSettings.of(topic.config),
            leader_epoch=state.leader_epoch,
            is_leader=is_leader,
            high_watermark=state.high_watermark,
            log_start_offset=state.log_start_offset,
            chunks=chunks,
            trimmed=len(chunks) >= PartitionLog.INDEX_CHUNKS
            and chunks[0].base_offset > state.log_start_offset,
            size_bytes=state.size_bytes,
        )
        plog.last_append_at = state.last_append_at
        for ps in producers:
            plog.producers.restore(ps.producer_id, ps.producer_epoch, [
                AppendedBatch(first_sequence=first, last_sequence=last_seq, base_offset=base,
                              last_offset=last_offset)
                for first, last_seq, base, last_offset in stored_chain(ps)
            ])
        self._logs[plog.key] = plog
        if is_leader:
            metrics.LEADER_CHANGES.labels("lease_acquired").inc()
        return plog

    def _fenced(self, plog: PartitionLog) -> None:
        self.drop(plog, reason="fenced")

    async def _rehome(self, orphans: list[PendingBatch]) -> None:
        """Batches acknowledged before they were durable (acks=0/1) whose flush was fenced:
        another agent took the partition meanwhile. They go to that leader, appended anew
        (as WAL recovery does), never dropped silently."""
        for batch in orphans:
            plog = batch.log
            if self.forward is None:
                metrics.WAL_RECOVERED.labels("dropped").inc()
                log.error("fenced_batch_dropped", topic=plog.topic_name,
                          partition=plog.partition, old_base_offset=batch.base_offset)
                continue
            delay = 0.5
            outcome = "forwarded"
            while True:  # acknowledged data: keep trying while this agent runs
                try:
                    if await self._committed_before_fencing(batch):
                        outcome = "already_committed"
                        break
                    await self.forward(plog.topic_id, plog.partition, batch.data)
                    break
                except asyncio.CancelledError:
                    raise  # stopping: the WAL still holds it, replayed at the next start
                except Exception as exc:
                    log.warning("fenced_batch_forward_retry", topic=plog.topic_name,
                                partition=plog.partition, error=str(exc) or type(exc).__name__,
                                retry_in=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            metrics.WAL_RECOVERED.labels(outcome).inc()
            log.warning("fenced_batch_forwarded" if outcome == "forwarded"
                        else "fenced_batch_was_committed", topic=plog.topic_name,
                        partition=plog.partition, old_base_offset=batch.base_offset)

    async def _committed_before_fencing(self, batch: PendingBatch) -> bool:
        """Whether a fenced batch is in the log after all: a commit whose answer was lost
        (the catalogue cut off mid-commit) made it durable at its offset under this agent's
        epoch before the next leader took over. Handing it over again would duplicate it."""
        plog = batch.log
        epoch = read_header(batch.data).partition_leader_epoch
        for chunk in await self.catalogue.list_chunks(plog.topic_id, plog.partition,
                                                      batch.base_offset):
            if chunk.base_offset > batch.base_offset:
                return False
            data = await self._chunk_bytes(chunk.object_key, chunk.byte_start, chunk.byte_length)
            for h in scan_headers(data):
                if h.base_offset == batch.base_offset:
                    return h.partition_leader_epoch == epoch
        return False

    def drop(self, plog: PartitionLog, *, reason: str) -> None:
        """Forget a partition this agent no longer leads; it is reopened on next use."""
        was_leader = plog.is_leader
        plog.is_leader = False
        if self._logs.get(plog.key) is plog:
            del self._logs[plog.key]
        if was_leader:
            metrics.LEADER_CHANGES.labels(reason).inc()
            self._dropped.add(plog.key)
        unflushed = self.buffer.purge(plog)
        if unflushed:
            self._refuse(plog, unflushed)

    def _refuse(self, plog: PartitionLog, batches: list[PendingBatch]) -> None:
        """Batches of a partition this agent stopped leading before they were flushed:
        those still waiting get NOT_LEADER_OR_FOLLOWER (their producers retry at the new
        leader); those already acknowledged (acks=0/1) are handed to the new leader."""
        orphans = [b for b in batches if b.acked_early]
        for b in batches:
            if not b.durable.done():
                b.durable.set_exception(
                    NotLeader(f"{plog.topic_name}-{plog.partition}: this agent stopped leading it")
                )
                b.durable.exception()
        if orphans:
            self._hand_over(orphans)

    def _hand_over(self, orphans: list[PendingBatch]) -> None:
        """Forward acknowledged batches in the background (the new leader may be this agent
        again, whose flushes must not wait on it); their WAL entries are kept until done."""
        task = asyncio.create_task(self._rehome(orphans), name="rehome")
        self._rehoming.add(task)
        task.add_done_callback(self._rehoming.discard)

    async def take(self, topic_id: TopicId, partition: int) -> PartitionLog | None:
        """Try to lead a partition (free or expired lease); a cached follower view is replaced."""
        current = self._logs.get((topic_id, partition))
        if current is not None and current.is_leader:
            return current
        topic = await self.catalogue.get_topic_by_id(topic_id)
        if topic is None:
            return None
        self._topics[(topic.org_id, topic.name)] = topic
        if current is not None:
            del self._logs[current.key]
        plog = await self.partition(topic, partition, lead=True)
        return plog if plog.is_leader else None

    async def take_free(self, keys: list[tuple[TopicId, int]]) -> None:
        """Lead these free partitions (the lease keeper's share).

        Partitions this agent has no view of (all of them after a restart) are taken in
        one catalogue transaction and opened on first use, as _open sees the lease is this
        agent's. A cached follower view to replace, or a partition dropped with writes in
        flight (which must come back under a new epoch), goes through take() one by one.
        """
        if self.stopping:
            return
        one_by_one = [k for k in keys if k in self._logs or k in self._dropped or k in self._opening]
        later = set(one_by_one)
        bulk = [k for k in keys if k not in later]
        if bulk:
            await self.catalogue.acquire_free_leases(self.agent_id, bulk, self.options.lease_ttl_ms)
            log.info("leases_taken", partitions=len(bulk))
        for topic_id, partition in one_by_one:
            await self.take(topic_id, partition)

    async def hand_off(self, topic_id: TopicId, partition: int, *, reason: str) -> None:
        """Stop taking writes for a partition, flush what is buffered, release its lease."""
        plog = self._logs.get((topic_id, partition))
        if plog is not None and plog.is_leader:
            plog.is_leader = False  # appends now answer NOT_LEADER_OR_FOLLOWER
            await self.buffer.drain()
            self.drop(plog, reason=reason)
            metrics.LEADER_CHANGES.labels(reason).inc()
        await self.catalogue.release_lease(self.agent_id, topic_id, partition)
        log.info("partition_handed_off", topic_id=topic_id, partition=partition, reason=reason)

    def open_logs(self) -> Iterable[PartitionLog]:
        return self._logs.values()

    # -- append ------------------------------------------------------------------------

    @staticmethod
    def check_batch_size(plog: PartitionLog, size: int) -> None:
        limit = plog.settings.max_message_bytes
        if size > limit:
            raise RecordTooLarge(
                f"a batch of {size} bytes exceeds max.message.bytes={limit} of {plog.topic_name}"
            )

    def append(self, plog: PartitionLog, record_set: bytes, *, acks: int) -> AppendResult:
        """Validate and append one partition's record set; synchronous up to the buffer."""
        if not plog.is_leader:
            raise NotLeader(f"{plog.topic_name}-{plog.partition} is led by another agent")
        try:
            headers = validate_record_set(record_set)
        except InvalidBatch as exc:
            raise CorruptRecordSet(str(exc)) from exc
        for h in headers:
            self.check_batch_size(plog, h.size)
        self.buffer.check_capacity(len(record_set), plog.org_id, plog)
        loop = asyncio.get_running_loop()
        # Idempotence: every batch is checked before any is appended.
        duplicate: AppendedBatch | None = None
        first = headers[0]
        if first.producer_id >= 0 and first.base_sequence >= 0:
            duplicate = plog.producers.check(first)
            if duplicate is not None and len(headers) > 1:
                raise CorruptRecordSet("a retried batch must be sent alone")
            # Later batches of the same request must continue the first one's sequence.
            for prev, h in zip(headers, headers[1:], strict=False):
                if (h.producer_id, h.producer_epoch) != (prev.producer_id, prev.producer_epoch) or (
                    h.base_sequence != (prev.last_sequence + 1) & 0x7FFFFFFF
                ):
                    raise OutOfOrderSequence(
                        f"batches of one request must continue the sequence of producer"
                        f" {first.producer_id}"
                    )
        if duplicate is not None:
            durable = duplicate.durable or _done(loop)
            return AppendResult(
                base_offset=duplicate.base_offset,
                log_append_time=-1,
                log_start_offset=plog.log_start_offset,
                durable=durable,
                logged=None,
            )
        buf = bytearray(record_set)
        now = int(time.time() * 1000)
        append_time = now if plog.settings.log_append_time else -1
        base = plog.next_offset
        futures: list[asyncio.Future[None]] = []
        logged = None
        for h in headers:
            offset = plog.next_offset
            set_base_offset(buf, h.position, offset)
            set_leader_epoch(buf, h.position, plog.leader_epoch)
            if append_time >= 0:
                set_log_append_time(buf, h, append_time)
            plog.next_offset = offset + h.last_offset_delta + 1
            data = bytes(buf[h.position : h.position + h.size]) if len(headers) > 1 else bytes(buf)
            batch_future: asyncio.Future[None] = loop.create_future()
            futures.append(batch_future)
            if h.producer_id >= 0 and h.base_sequence >= 0:
                plog.producers.record(h, offset, batch_future)
            pending = PendingBatch(
                log=plog,
                data=data,
                base_offset=offset,
                last_offset=offset + h.last_offset_delta,
                first_timestamp=h.first_timestamp,
                max_timestamp=append_time if append_time >= 0 else h.max_timestamp,
                records=h.records_count,
                durable=batch_future,
                producer_id=h.producer_id,
                producer_epoch=h.producer_epoch,
                first_sequence=h.base_sequence,
                last_sequence=h.last_sequence,
                acked_early=acks in (0, 1),
            )
            self.buffer.add(pending)
            if acks == 1 and self.wal is not None:
                logged = self.wal.append(
                    WalEntry(
                        topic_id=plog.topic_id,
                        partition=plog.partition,
                        epoch=plog.leader_epoch,
                        base_offset=offset,
                        batch=data,
                    )
                )
        if len(futures) == 1:
            durable = futures[0]
        else:
            durable = loop.create_future()
            _chain_all(durable, futures)
        counters = plog.counters or _counters(plog)
        counters[0].inc(sum(h.records_count for h in headers))
        counters[1].inc(len(record_set))
        return AppendResult(
            base_offset=base,
            log_append_time=append_time,
            log_start_offset=plog.log_start_offset,
            durable=durable,
            logged=logged,
        )

    # -- read --------------------------------------------------------------------------

    async def refresh(self, plog: PartitionLog, *, min_interval: float = 0.1) -> None:
        """A follower view (another agent leads) catches up with the catalogue's chunk index."""
        if plog.is_leader or time.monotonic() - plog.refreshed_at < min_interval:
            return
        plog.refreshed_at = time.monotonic()
        state = await self.catalogue.get_partition(plog.topic_id, plog.partition)
        if state is None:
            return
        if state.log_start_offset > plog.log_start_offset:
            plog.drop_chunks_before(state.log_start_offset)
        if state.high_watermark > plog.high_watermark:
            start = plog.chunks[-1].last_offset + 1 if plog.chunks else state.log_start_offset
            cap = PartitionLog.INDEX_CHUNKS
            new = await self.catalogue.list_chunks(
                plog.topic_id, plog.partition, start, limit=cap, newest=True
            )
            if len(new) >= cap and new[0].base_offset > start:
                plog.replace_chunks(new, trimmed=True)  # more came than the index keeps
            else:
                for chunk in new:
                    plog.add_chunk(chunk)
            plog.advance(state.high_watermark)
        plog.size_bytes = state.size_bytes
        plog.leader_epoch = state.leader_epoch

    async def read(
        self, plog: PartitionLog, offset: int, max_bytes: int, *, oversize_first: bool = True
    ) -> ReadResult:
        """Whole batches from `offset`, up to `max_bytes`; the first batch goes even if it is
        larger, unless `oversize_first` is off (a later partition of a fetch: KIP-74)."""
        await self.refresh(plog)
        hw = plog.high_watermark
        if offset < plog.log_start_offset or offset > hw:
            raise OffsetOutOfRange(
                f"offset {offset} is outside [{plog.log_start_offset}, {hw}] of"
                f" {plog.topic_name}-{plog.partition}"
            )
        if offset == hw:
            return ReadResult(
                records=b"", high_watermark=hw, log_start_offset=plog.log_start_offset
            )
        if plog.covers(offset):  # nearly always: no await on the way
            chunks: Sequence[Chunk] = plog.chunks
            i = plog.chunk_for(offset)
        else:
            chunks, i = await self._older(plog, offset)
        parts: list[bytes] = []
        total = 0
        count = 0  # records served: from the chunk index, or the headers scanned anyway
        while i is not None and i < len(chunks):
            chunk = chunks[i]
            if chunk.base_offset >= hw:
                break
            data = await self._chunk_bytes(chunk.object_key, chunk.byte_start, chunk.byte_length)
            start = 0
            skipped = 0
            if chunk.base_offset < offset:
                for h in scan_headers(data):
                    if h.last_offset >= offset:
                        start = h.position
                        break
                    skipped += h.records_count
            piece = memoryview(data)[start:]
            if total + len(piece) > max_bytes:
                # Whole batches only, within the limit; the first batch goes even if larger.
                end = 0
                for h in scan_headers(piece):
                    if total + h.position + h.size > max_bytes and (
                        total or end or not oversize_first
                    ):
                        break
                    end = h.position + h.size
                    count += h.records_count
                if end:
                    parts.append(bytes(piece[:end]))
                break
            parts.append(bytes(piece) if start else data)
            count += chunk.record_count - skipped
            total += len(piece)
            if total >= max_bytes:
                break
            i += 1
        if i is not None:
            self._read_ahead(chunks, i)
        records = b"".join(parts)
        counters = plog.counters or _counters(plog)
        counters[2].inc(len(records))
        counters[3].inc(count)
        return ReadResult(
            records=records, high_watermark=hw, log_start_offset=plog.log_start_offset
        )

    async def _older(
        self, plog: PartitionLog, offset: int
    ) -> tuple[Sequence[Chunk], int | None]:
        """For an offset older than the partition's in-memory index: a page of the catalogue's
        index around it, and the index in that page of the chunk holding it (or of the first
        after it)."""
        page = self._pages.get(plog.key)
        if page is not None and page[0].base_offset <= offset <= page[-1].last_offset:
            self._pages.move_to_end(plog.key)
            i = bisect.bisect_right(page, offset, key=_base_offset) - 1
            return page, i if page[i].last_offset >= offset else i + 1
        page = await self.catalogue.list_chunks(
            plog.topic_id, plog.partition, offset, limit=PAGE_CHUNKS
        )
        if not page:
            return plog.chunks, plog.chunk_for(offset)
        self._pages[plog.key] = page
        self._pages.move_to_end(plog.key)
        while len(self._pages) > PAGES_KEPT:
            self._pages.popitem(last=False)
        return page, 0

    async def _oldest_first(
        self, plog: PartitionLog, *, reaching: int | None = None
    ) -> AsyncGenerator[Chunk, None]:
        """The partition's chunks from its log start, oldest first (with `reaching`, only those
        holding a timestamp at or above it): pages of the catalogue's index while older than
        the in-memory index, then the in-memory index."""
        offset = plog.log_start_offset
        while not plog.covers(offset):
            if reaching is None:
                page = await self.catalogue.list_chunks(
                    plog.topic_id, plog.partition, offset, limit=PAGE_CHUNKS
                )
            else:
                page = await self.catalogue.chunks_reaching(
                    plog.topic_id, plog.partition, reaching, offset, PAGE_CHUNKS
                )
            for chunk in page:
                yield chunk
            if page:
                offset = page[-1].last_offset + 1
            if len(page) < PAGE_CHUNKS:
                break  # the catalogue had no more
        for chunk in list(plog.chunks):
            if chunk.last_offset >= offset and (reaching is None or chunk.max_timestamp >= reaching):
                yield chunk

    async def _chunk_bytes(self, object_key: str, start: int, length: int) -> bytes:
        key = (object_key, start)
        data = self.cache.get(key)
        if data is not None:
            return data
        task = self._gets.get(key)
        if task is None:
            task = asyncio.create_task(self._get_chunk(object_key, start, length))
            self._gets[key] = task
            task.add_done_callback(functools.partial(self._forget_get, key))
        return await asyncio.shield(task)

    def _forget_get(self, key: tuple[str, int], _task: asyncio.Task[bytes]) -> None:
        self._gets.pop(key, None)

    async def _get_chunk(self, object_key: str, start: int, length: int) -> bytes:
        data = await self.store.get_range(object_key, start, length)
        self.cache.lru.put((object_key, start), data)
        return data

    def _read_ahead(self, chunks: Sequence[Chunk], index: int) -> None:
        """Start GETs of the chunks after `index`, so a consumer catching up does not wait on each."""
        for chunk in chunks[index + 1 : index + 1 + READ_AHEAD_CHUNKS]:
            key = (chunk.object_key, chunk.byte_start)
            if key in self._gets or self.cache.recent.get(key) or self.cache.lru.get(key):
                continue
            task = asyncio.create_task(
                self._get_chunk(chunk.object_key, chunk.byte_start, chunk.byte_length)
            )
            self._gets[key] = task
            task.add_done_callback(_forget_failure)
            task.add_done_callback(functools.partial(self._forget_get, key))

    async def wait_for_data(self, logs: list[PartitionLog], timeout: float) -> None:
        """Wait until any of the logs' high watermarks moves, or the timeout passes."""
        if timeout <= 0 or not logs:
            return
        followers = [plog for plog in logs if not plog.is_leader]
        if followers:
            # Another agent leads these: their high watermarks move in the catalogue.
            timeout = min(timeout, 0.1)
        futures = [plog.hw_changed() for plog in logs]
        await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for plog in followers:
            await self.refresh(plog)

    # -- offsets -----------------------------------------------------------------------

    async def offset_for_timestamp(self, plog: PartitionLog, timestamp: int) -> tuple[int, int]:
        """(offset, timestamp) of the first record whose timestamp is >= `timestamp`, or (-1, -1)."""
        async with contextlib.aclosing(self._oldest_first(plog, reaching=timestamp)) as chunks:
            async for chunk in chunks:
                if chunk.base_offset >= plog.high_watermark:
                    break
                data = await self._chunk_bytes(
                    chunk.object_key, chunk.byte_start, chunk.byte_length
                )
                for h in scan_headers(data):
                    if h.max_timestamp < timestamp:
                        continue
                    for rec in decode_records(data[h.position : h.position + h.size]):
                        if rec.timestamp >= timestamp and rec.offset >= plog.log_start_offset:
                            return rec.offset, rec.timestamp
        return -1, -1

    async def offset_for_max_timestamp(self, plog: PartitionLog) -> tuple[int, int]:
        best = None
        if plog.trimmed:  # the greatest timestamp may be in a chunk no longer in memory
            best = await self.catalogue.latest_chunk_by_time(
                plog.topic_id, plog.partition, plog.log_start_offset, plog.high_watermark
            )
        else:
            for chunk in plog.chunks:
                if chunk.base_offset < plog.high_watermark and (
                    best is None or chunk.max_timestamp > best.max_timestamp
                ):
                    best = chunk
        if best is None:
            return -1, -1
        data = await self._chunk_bytes(best.object_key, best.byte_start, best.byte_length)
        found = (-1, -1)
        for rec in decode_records(data):
            if rec.timestamp == best.max_timestamp:
                found = (rec.offset, rec.timestamp)
        return found

    # -- background --------------------------------------------------------------------

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.retention_check_seconds)
            try:
                await self.enforce_retention()
            except Exception as exc:
                log.warning("retention_failed", error=str(exc))

    async def enforce_retention(self) -> int:
        """Delete whole chunks past retention.ms / retention.bytes; returns chunks removed."""
        removed = 0
        now = int(time.time() * 1000)
        for plog in list(self._logs.values()):
            if not plog.is_leader or not plog.chunks or not plog.settings.delete_retention:
                continue
            s = plog.settings
            new_start = plog.log_start_offset
            size = plog.size_bytes
            dropped = freed = 0
            async with contextlib.aclosing(self._oldest_first(plog)) as chunks:
                async for chunk in chunks:
                    by_time = s.retention_ms >= 0 and chunk.max_timestamp < now - s.retention_ms
                    by_size = (s.retention_bytes >= 0
                               and size - chunk.byte_length >= s.retention_bytes)
                    if not (by_time or by_size) or chunk.last_offset >= plog.high_watermark:
                        break
                    new_start = chunk.last_offset + 1
                    size -= chunk.byte_length
                    freed += chunk.byte_length
                    dropped += 1
            if new_start <= plog.log_start_offset:
                continue
            orphaned = await self.catalogue.truncate_before(
                plog.topic_id, plog.partition, new_start
            )
            plog.drop_chunks_before(new_start)
            plog.size_bytes = max(0, plog.size_bytes - freed)
            self._pages.pop(plog.key, None)
            removed += dropped
            metrics.RETENTION_DELETED.inc(dropped)
            await self.delete_objects(orphaned)
            log.info(
                "retention",
                topic=plog.topic_name,
                partition=plog.partition,
                log_start_offset=new_start,
                chunks=dropped,
            )
        return removed

    async def delete_objects(self, keys: list[str]) -> None:
        for key in keys:
            self.cache.discard_object(key)
            await self.store.delete(key)
        if keys:
            await self.catalogue.forget_objects(keys)

    async def delete_topic_data(self, topic: Topic) -> None:
        self.forget_topic(topic)
        await self.delete_objects(await self.catalogue.orphaned_objects())

    # -- WAL replay --------------------------------------------------------------------

    async def _committed(self, plog: PartitionLog, entry: WalEntry) -> bool:
        """Whether the log holds this WAL batch: a batch at its offset written under its epoch.

        Offsets alone cannot tell: after a takeover another leader may have written
        other records at the same offsets.
        """
        if entry.base_offset >= plog.high_watermark or entry.base_offset < plog.log_start_offset:
            return False
        if plog.covers(entry.base_offset):
            chunks: Sequence[Chunk] = plog.chunks
            i = plog.chunk_for(entry.base_offset)
        else:
            chunks, i = await self._older(plog, entry.base_offset)
        if i is None or i >= len(chunks):
            return False
        chunk = chunks[i]
        data = await self._chunk_bytes(chunk.object_key, chunk.byte_start, chunk.byte_length)
        for h in scan_headers(data):
            if h.base_offset == entry.base_offset:
                return h.partition_leader_epoch == entry.epoch
        return False

    async def _replay(self, entries: list[WalEntry]) -> None:
        kept = anew = skipped = 0
        for entry in entries:
            topic = await self.catalogue.get_topic_by_id(TopicId(entry.topic_id))
            if topic is None:
                skipped += 1
                continue
            self._topics[(topic.org_id, topic.name)] = topic
            plog = await self.partition(topic, entry.partition)
            headers = scan_headers(entry.batch)
            if not headers:
                continue
            if await self._committed(plog, entry):
                skipped += 1  # already durable
                continue
            if not plog.is_leader:
                # Another agent leads the partition now: hand the batch to it.
                outcome = "dropped"
                if self.forward is not None:
                    try:
                        await self.forward(topic.id, entry.partition, entry.batch)
                        outcome = "forwarded"
                    except Exception as exc:
                        log.error("wal_forward_failed", topic=topic.name,
                                  partition=entry.partition, error=str(exc))
                metrics.WAL_RECOVERED.labels(outcome).inc()
                log.warning(f"wal_entry_{outcome}", topic=topic.name, partition=entry.partition,
                            old_base_offset=entry.base_offset)
                anew += outcome == "forwarded"
                continue
            same_place = entry.epoch == plog.leader_epoch and entry.base_offset == plog.next_offset
            try:
                result = self.append(plog, entry.batch, acks=-1)
            except Exception as exc:
                log.error(
                    "wal_entry_rejected",
                    topic=topic.name,
                    partition=entry.partition,
                    base_offset=entry.base_offset,
                    error=str(exc),
                )
                metrics.WAL_RECOVERED.labels("rejected").inc()
                continue
            if same_place:
                kept += 1
                metrics.WAL_RECOVERED.labels("original_offset").inc()
            else:
                anew += 1
                metrics.WAL_RECOVERED.labels("appended_anew").inc()
                log.warning(
                    "wal_entry_appended_anew",
                    topic=topic.name,
                    partition=entry.partition,
                    old_base_offset=entry.base_offset,
                    new_base_offset=result.base_offset,
                )
        await self.buffer.drain()
        log.info("wal_replayed", original_offset=kept, appended_anew=anew, skipped=skipped)


READ_AHEAD_CHUNKS = 2
PAGE_CHUNKS = 256  # chunks read from the catalogue's index at a time, below the in-memory one
PAGES_KEPT = 64  # such pages kept (the last one per partition), in all


def _base_offset(chunk: Chunk) -> int:
    return chunk.base_offset


def _counters(plog: PartitionLog) -> tuple[Any, Any, Any, Any]:
    labels = (plog.org_id, plog.topic_name)
    plog.counters = (metrics.PRODUCE_RECORDS.labels(*labels), metrics.PRODUCE_BYTES.labels(*labels),
                     metrics.FETCH_BYTES.labels(*labels), metrics.FETCH_RECORDS.labels(*labels))
    return plog.counters


def _forget_failure(task: asyncio.Task[bytes]) -> None:
    # A failed read-ahead is not an error: the next read retries the GET itself.
    if not task.cancelled():
        task.exception()


def _done(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    fut: asyncio.Future[None] = loop.create_future()
    fut.set_result(None)
    return fut


def _chain_all(target: asyncio.Future[None], sources: list[asyncio.Future[None]]) -> None:
    """Resolve `target` when every source has resolved (or fail with the first failure)."""
    remaining = [len(sources)]

    def done(fut: asyncio.Future[None]) -> None:
        if target.done():
            return
        if fut.exception() is not None:
            target.set_exception(fut.exception())  # type: ignore[arg-type]
            return
        remaining[0] -= 1
        if remaining[0] == 0:
            target.set_result(None)

    for src in sources:
        src.add_done_callback(done)
