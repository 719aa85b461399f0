"""The write buffer and its flusher: group commit under a PUT budget (DESIGN.md §4.3).

A flush takes everything buffered, writes one object per tenant, and commits
the chunks with the partitions' new high watermarks in one catalogue
transaction. A flush writes at most `objects_per_flush` objects whatever the number of
tenants in it: past that, the largest tenants keep an object of their own (under their
`org-{id}/` prefix) and the others share one object (under `shared/`), each with its own
byte ranges, so the PUT rate of an agent stays bounded with 1 or 1,000 active tenants. A flush starts as soon as there is data and the budget allows
(`max_flushes_per_second`, a hard cap on PUTs however much data arrives: under
load the objects grow instead of their number). Several uploads may be in
flight; commits happen strictly in order. A failed
upload or commit is retried with backoff and keeps its place; the buffer is
bounded, and past its limit appends are refused (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from coordinator.catalogue import (
    AgentId,
    Catalogue,
    Chunk,
    FlushCommit,
    OrgId,
    ProducerState,
    TopicId,
)

from . import metrics
from .cache import ReadCache
from .errors import BufferFull, NotLeader
from .objectstore import ObjectStore, ObjectStoreUnavailable
from .partition import PartitionLog, PendingBatch
from .segment import SHARED_OBJECT_OWNER, ChunkEntry, encode_footer, flush_object_key
from .wal import WriteAheadLog

log = structlog.get_logger("streamhouse.flush")


@dataclass(frozen=True, slots=True, kw_only=True)
class FlushPolicy:
    max_flushes_per_second: float = 10.0
    # Faster than this only while an acks=all batch waits for its flush, or at least
    # `early_flush_bytes` wait: batches already answered (acks=0/1) keep the base cadence
    # (each flush is a chunk row per partition it covers in the catalogue), while a
    # producer waiting on a flush is answered as soon as the cap lets it.
    base_flushes_per_second: float = 10.0
    early_flush_bytes: int = 1024 * 1024
    max_buffer_bytes: int = 256 * 1024 * 1024
    max_in_flight: int = 4
    # At most this many objects (PUTs) per flush; the smaller tenants of a flush that holds
    # more share the last one.
    objects_per_flush: int = 4
    # No organization may hold more than this share of the buffer, so that a noisy tenant
    # leaves room for the others; 1.0 (one tenant) turns the shares off.
    tenant_buffer_share: float = 1.0
    # The share one partition may hold: a hot partition (or one the store is slow to take)
    # is refused first, and the others keep their room (credit-based backpressure).
    partition_buffer_share: float = 0.25


@dataclass(slots=True)
class _Job:
    batches: list[PendingBatch]
    wal_segment: int | None
    committed: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class FlushBuffer:
    def __init__(
        self,
        *,
        store: ObjectStore,
        catalogue: Catalogue,
        agent_id: AgentId,
        cache: ReadCache,
        wal: WriteAheadLog | None,
        policy: FlushPolicy,
        on_fenced: Callable[[PartitionLog], None],
        on_orphaned: Callable[[list[PendingBatch]], None] | None = None,
        holds_wal: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.agent_id = agent_id
        self.cache = cache
        self.wal = wal
        self.policy = policy
        self.on_fenced = on_fenced
        self.on_orphaned = on_orphaned
        self.holds_wal = holds_wal  # while true, WAL segments are kept (batches in transit)
        self._pending: list[PendingBatch] = []
        self._pending_bytes = 0
        self._in_flight_bytes = 0
        self._org_bytes: dict[str, int] = {}  # buffered (pending and in flight) per tenant
        self._has_data = asyncio.Event()
        self._enough = asyncio.Event()  # an acks=all batch or early_flush_bytes are pending
        self._slots = asyncio.Semaphore(policy.max_in_flight)
        self._last_job: _Job | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_start = 0.0
        self.flushes = 0
        # Read when scraped, not set at every append (a gauge's set takes a lock).
        metrics.BUFFER_BYTES.set_function(lambda: self.buffered_bytes)

    @property
    def buffered_bytes(self) -> int:
        return self._pending_bytes + self._in_flight_bytes

    def add(self, batch: PendingBatch) -> None:
        self._pending.append(batch)
        self._pending_bytes += len(batch.data)
        org = batch.log.org_id
        self._org_bytes[org] = self._org_bytes.get(org, 0) + len(batch.data)
        batch.log.buffered_bytes += len(batch.data)
        self._has_data.set()
        if not batch.acked_early or self._pending_bytes >= self.policy.early_flush_bytes:
            self._enough.set()

    def purge(self, plog: PartitionLog) -> list[PendingBatch]:
        """Take out the batches of a partition view that stopped leading before their flush
        started. (A flush holds one epoch per partition: batches of an old view must not
        share one with those of the view that leads the partition now.) Batches already
        in a flush are left to it: its commit fences them."""
        mine = [b for b in self._pending if b.log is plog]
        if mine:
            self._pending = [b for b in self._pending if b.log is not plog]
            self._pending_bytes -= sum(len(b.data) for b in mine)
            self._release(mine)
        return mine

    def check_capacity(
        self, incoming: int, org_id: str | None = None, plog: PartitionLog | None = None
    ) -> None:
        if self.buffered_bytes + incoming > self.policy.max_buffer_bytes:
            raise BufferFull(
                f"write buffer holds {self.buffered_bytes} bytes, its limit is"
                f" {self.policy.max_buffer_bytes}; the object store or catalogue is behind"
            )
        part = self.policy.partition_buffer_share
        # A partition holding nothing may always take one request: the share bounds what
        # piles up, not the size of a batch (max.message.bytes does that).
        if plog is not None and part < 1.0 and plog.buffered_bytes:
            limit = int(part * self.policy.max_buffer_bytes)
            if plog.buffered_bytes + incoming > limit:
                raise BufferFull(
                    f"{plog.topic_name}-{plog.partition} holds {plog.buffered_bytes} bytes"
                    f" of the agent's write buffer, a partition's share is {limit} (the rest"
                    " is kept for the other partitions); the object store or catalogue is"
                    " behind it"
                )
        share = self.policy.tenant_buffer_share
        if org_id is None or share >= 1.0:
            return
        mine = self._org_bytes.get(org_id, 0)
        if mine + incoming > share * self.policy.max_buffer_bytes:
            raise BufferFull(
                f"this organization holds {mine} bytes of the agent's write buffer, its share"
                f" is {int(share * self.policy.max_buffer_bytes)} (the rest is kept for the"
                " other organizations); the object store or catalogue is behind"
            )

    def _release(self, batches: list[PendingBatch]) -> None:
        """Give back the room of batches that left the buffer (per tenant, per partition)."""
        for batch in batches:
            batch.log.buffered_bytes -= len(batch.data)
            org = batch.log.org_id
            left = self._org_bytes.get(org, 0) - len(batch.data)
            if left > 0:
                self._org_bytes[org] = left
            else:
                self._org_bytes.pop(org, None)

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="flusher")

    async def stop(self, timeout: float = 30.0) -> None:
        """Flush what is buffered (within `timeout`), then stop."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            log.error("flush_on_stop_timed_out", buffered_bytes=self.buffered_bytes)
        for task in list(self._jobs):
            task.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)

    async def drain(self) -> None:
        """Start a flush of everything buffered now and wait until it has committed."""
        if self._pending:
            await self._slots.acquire()
            self._start_job()
        if self._last_job is not None:
            await asyncio.shield(self._last_job.committed)

    async def _run(self) -> None:
        fastest = 1.0 / self.policy.max_flushes_per_second
        cadence = max(fastest, 1.0 / self.policy.base_flushes_per_second)
        while True:
            await self._has_data.wait()
            wait = self._last_start + fastest - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            rest = self._last_start + cadence - time.monotonic()
            if rest > 0 and self._pending_bytes < self.policy.early_flush_bytes:
                self._enough.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._enough.wait(), rest)
            await self._slots.acquire()
            if not self._pending:
                self._slots.release()
                self._has_data.clear()
                continue
            self._start_job()

    def _start_job(self) -> None:
        self._enough.clear()
        batches, self._pending = self._pending, []
        self._in_flight_bytes += self._pending_bytes
        self._pending_bytes = 0
        self._has_data.clear()
        self._last_start = time.monotonic()
        segment = self.wal.rotate() if self.wal is not None else None
        job = _Job(batches=batches, wal_segment=segment)
        previous, self._last_job = self._last_job, job
        task = asyncio.create_task(self._flush(job, previous), name="flush-job")
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    # -- one flush -------------------------------------------------------------------

    async def _flush(self, job: _Job, previous: _Job | None) -> None:
        started = time.perf_counter()
        size = sum(len(b.data) for b in job.batches)
        try:
            uploads = [
                self._upload(owner, batches)
                for owner, batches in objects_of(job.batches, self.policy.objects_per_flush)
            ]
            commits = await asyncio.gather(*uploads)
            if previous is not None:
                await asyncio.shield(previous.committed)
            fenced = await self._retry(
                "commit",
                functools.partial(self.catalogue.commit_flushes, [c for c, _ in commits]),
            )
            orphans: list[PendingBatch] = []
            for commit, groups in commits:
                orphans += self._apply(commit, groups, fenced)
            if orphans and self.on_orphaned is not None:
                self.on_orphaned(orphans)  # handed over in the background, WAL kept meanwhile
            holding = self.holds_wal is not None and self.holds_wal()
            if self.wal is not None and job.wal_segment is not None and not holding:
                await self.wal.release_before(job.wal_segment)
            self.flushes += 1
            metrics.FLUSH_BYTES.observe(size)
            metrics.FLUSH_DURATION.observe(time.perf_counter() - started)
            job.committed.set_result(None)
        except BaseException as exc:
            if not job.committed.done():
                job.committed.set_exception(
                    exc if isinstance(exc, Exception) else RuntimeError("flush cancelled")
                )
                job.committed.exception()  # mark retrieved
            for batch in job.batches:
                if not batch.durable.done():
                    batch.durable.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError("flush cancelled")
                    )
                    batch.durable.exception()
            raise
        finally:
            self._in_flight_bytes -= size
            self._release(job.batches)
            self._slots.release()

    async def _upload(
        self, org_id: str, batches: list[PendingBatch]
    ) -> tuple[FlushCommit, dict[tuple[str, int], list[PendingBatch]]]:
        groups: dict[tuple[str, int], list[PendingBatch]] = {}
        for batch in batches:
            groups.setdefault(batch.log.key, []).append(batch)
        # One copy of the data: each partition's batches joined into its chunk (kept as is
        # for the recent cache), and the chunks and the footer joined into the object.
        pieces: list[bytes] = []
        size = 0
        entries: list[ChunkEntry] = []
        chunks: list[Chunk] = []
        epochs: dict[tuple[str, int], int] = {}
        states: list[ProducerState] = []
        key = flush_object_key(org_id, self.agent_id)
        for (topic_id, partition), group in groups.items():
            data = group[0].data if len(group) == 1 else b"".join(b.data for b in group)
            start = size
            pieces.append(data)
            size += len(data)
            last: dict[int, PendingBatch] = {}  # each producer's last batch in this chunk
            for batch in group:
                if batch.producer_id >= 0:
                    last[batch.producer_id] = batch
            for producer_id, batch in last.items():
                states.append(ProducerState(
                    topic_id=TopicId(topic_id),
                    partition=partition,
                    producer_id=producer_id,
                    producer_epoch=batch.producer_epoch,
                    first_sequence=batch.first_sequence,
                    last_sequence=batch.last_sequence,
                    base_offset=batch.base_offset,
                    last_offset=batch.last_offset,
                    earlier=batch.log.producers.earlier(
                        producer_id, batch.producer_epoch, batch.base_offset
                    ),
                ))
            entry = ChunkEntry(
                topic_id=topic_id,
                partition=partition,
                base_offset=group[0].base_offset,
                last_offset=group[-1].last_offset,
                byte_start=start,
                byte_length=len(data),
                first_timestamp=min(b.first_timestamp for b in group),
                max_timestamp=max(b.max_timestamp for b in group),
                record_count=sum(b.records for b in group),
            )
            entries.append(entry)
            chunks.append(
                Chunk(
                    topic_id=TopicId(entry.topic_id),
                    partition=partition,
                    base_offset=entry.base_offset,
                    last_offset=entry.last_offset,
                    object_key=key,
                    byte_start=entry.byte_start,
                    byte_length=entry.byte_length,
                    first_timestamp=entry.first_timestamp,
                    max_timestamp=entry.max_timestamp,
                    record_count=entry.record_count,
                )
            )
            epochs[(topic_id, partition)] = group[0].log.leader_epoch
        pieces.append(encode_footer(entries))
        body = b"".join(pieces)
        await self._retry("put", lambda: self.store.put(key, body))
        commit = FlushCommit(
            agent_id=self.agent_id,
            object_key=key,
            org_id=OrgId(org_id),
            object_size=len(body),
            chunks=chunks,
            epochs=epochs,  # type: ignore[arg-type]
            producer_states=states,
        )
        for chunk, data in zip(chunks, pieces, strict=False):  # pieces ends with the footer
            self.cache.recent.put((key, chunk.byte_start), data)
        return commit, groups

    async def _retry(self, what: str, op: Callable[[], object]) -> object:
        delay = 0.05
        while True:
            try:
                return await op()  # type: ignore[misc]
            except asyncio.CancelledError:
                raise
            except ObjectStoreUnavailable as exc:
                # The breaker is open: no request was sent. Wait for its cool-down (when one
                # of the waiting uploads becomes the probe) instead of polling the store.
                log.debug("flush_waits_for_store", step=what, retry_in=exc.retry_after)
                await asyncio.sleep(max(exc.retry_after, 0.01))
            except Exception as exc:
                metrics.FLUSH_FAILURES.inc()
                wait = max(delay, getattr(exc, "retry_after", 0.0))
                log.warning("flush_retry", step=what, error=str(exc), retry_in=wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 2.0)

    def _apply(
        self,
        commit: FlushCommit,
        groups: dict[tuple[str, int], list[PendingBatch]],
        fenced: object,
    ) -> list[PendingBatch]:
        """Make committed chunks visible; fail the fenced partitions' waiting batches and
        return those that were acknowledged already (they must reach the new leader)."""
        orphans: list[PendingBatch] = []
        fenced_set: set[tuple[str, int]] = fenced  # type: ignore[assignment]
        by_key: dict[tuple[str, int], Chunk] = {(c.topic_id, c.partition): c for c in commit.chunks}
        for pkey, group in groups.items():
            plog = group[0].log
            if pkey in fenced_set:
                log.warning(
                    "partition_fenced",
                    topic=plog.topic_name,
                    partition=plog.partition,
                    epoch=plog.leader_epoch,
                )
                for batch in group:
                    if batch.acked_early:
                        orphans.append(batch)
                    if not batch.durable.done():
                        batch.durable.set_exception(
                            NotLeader(
                                f"{plog.topic_name}-{plog.partition}: this agent lost the lease"
                            )
                        )
                        batch.durable.exception()
                self.on_fenced(plog)
                continue
            chunk = by_key[pkey]
            if plog.add_chunk(chunk):
                plog.size_bytes += chunk.byte_length
            plog.last_append_at = int(time.time() * 1000)
            plog.advance(chunk.last_offset + 1)
            for batch in group:
                if not batch.durable.done():
                    batch.durable.set_result(None)
        return orphans


def objects_of(
    batches: list[PendingBatch], limit: int
) -> list[tuple[str, list[PendingBatch]]]:
    """The objects of one flush: (owner, batches), at most `limit` of them. With more
    tenants than that, the `limit - 1` largest keep an object of their own and the rest
    share one (owner SHARED_OBJECT_OWNER); a tenant's batches keep their order."""
    by_org: dict[str, list[PendingBatch]] = {}
    for batch in batches:
        by_org.setdefault(batch.log.org_id, []).append(batch)
    if len(by_org) <= max(limit, 1):
        return list(by_org.items())
    sizes = {org: sum(len(b.data) for b in group) for org, group in by_org.items()}
    ranked = sorted(by_org, key=lambda org: (-sizes[org], org))
    own = max(limit, 1) - 1
    shared = [b for org in ranked[own:] for b in by_org[org]]
    return [(org, by_org[org]) for org in ranked[:own]] + [(SHARED_OBJECT_OWNER, shared)]
