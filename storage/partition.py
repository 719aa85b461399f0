"""One partition's log as this agent sees it: offsets, chunk index, producer state, waiters.

Offsets are assigned here (the log end offset moves at append); the high
watermark moves only when a flush commits (DESIGN.md §4.5).
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass
from typing import Any

from coordinator.catalogue import Chunk, TopicId

from .producers import ProducerStateTable
from .topic_config import TopicSettings


@dataclass(slots=True)
class PendingBatch:
    """A batch appended to the write buffer, waiting for its flush to commit."""

    log: PartitionLog
    data: bytes
    base_offset: int
    last_offset: int
    first_timestamp: int
    max_timestamp: int
    records: int
    durable: asyncio.Future[None]
    producer_id: int = -1
    producer_epoch: int = -1
    first_sequence: int = -1
    last_sequence: int = -1
    # Answered before it was durable (acks=0, or acks=1 once in the WAL): if its flush is
    # fenced, it must reach the partition's new leader rather than be refused.
    acked_early: bool = False


class PartitionLog:
    # The chunk index in memory holds at most this many of the newest chunks (one a flush):
    # past it the older half goes, and reads below it page the catalogue's index instead.
    # Without a bound a busy partition's index grew for as long as retention kept data.
    INDEX_CHUNKS = 512

    # Slots: an agent holds one per partition it opened (100,000 idle ones are memory).
    __slots__ = (
        "topic_id", "topic_name", "org_id", "partition", "settings", "leader_epoch",
        "is_leader", "next_offset", "high_watermark", "log_start_offset", "chunks", "_bases",
        "trimmed", "producers", "size_bytes", "buffered_bytes", "counters", "last_append_at",
        "_hw_changed", "refreshed_at",
    )

    def __init__(
        self,
        *,
        topic_id: TopicId,
        topic_name: str,
        org_id: str,
        partition: int,
        settings: TopicSettings,
        leader_epoch: int,
        is_leader: bool,
        high_watermark: int,
        log_start_offset: int,
        chunks: list[Chunk],
        trimmed: bool = False,
        size_bytes: int = 0,
    ) -> None:
        self.topic_id = topic_id
        self.topic_name = topic_name
        self.org_id = org_id
        self.partition = partition
        self.settings = settings
        self.leader_epoch = leader_epoch
        self.is_leader = is_leader
        self.next_offset = high_watermark
        self.high_watermark = high_watermark
        self.log_start_offset = log_start_offset
        self.chunks: list[Chunk] = []
        self._bases: list[int] = []
        # Whether the catalogue holds chunks older than the first one in memory.
        self.trimmed = trimmed
        self.producers = ProducerStateTable()
        self.size_bytes = size_bytes  # of the whole log, not only the chunks in memory
        self.buffered_bytes = 0  # in the write buffer: pending or being flushed
        # Its children of the per-topic counters (records, bytes appended; records, bytes
        # served), looked up once: `labels()` costs more than the rest of an append's metrics.
        self.counters: tuple[Any, Any, Any, Any] | None = None
        self.last_append_at = 0
        self._hw_changed: asyncio.Future[None] | None = None
        self.refreshed_at = 0.0  # when a follower view last read the catalogue
        for chunk in chunks:
            self.add_chunk(chunk)

    @property
    def key(self) -> tuple[TopicId, int]:
        return (self.topic_id, self.partition)

    # -- chunk index -------------------------------------------------------------

    def add_chunk(self, chunk: Chunk) -> bool:
        """Index a committed chunk; False if it was known (index reload racing a commit).
        The caller counts its bytes in `size_bytes` (a follower takes the catalogue's)."""
        if self._bases and chunk.base_offset <= self._bases[-1]:
            return False
        self.chunks.append(chunk)
        self._bases.append(chunk.base_offset)
        if len(self.chunks) > self.INDEX_CHUNKS:
            keep = self.INDEX_CHUNKS // 2
            del self.chunks[:-keep]
            del self._bases[:-keep]
            self.trimmed = True
        return True

    def replace_chunks(self, chunks: list[Chunk], *, trimmed: bool) -> None:
        """Start the in-memory index again from `chunks` (a follower view far behind)."""
        self.chunks = []
        self._bases = []
        self.trimmed = trimmed
        for chunk in chunks[-self.INDEX_CHUNKS:]:
            self.add_chunk(chunk)

    def covers(self, offset: int) -> bool:
        """Whether the in-memory index answers for `offset` (no older chunk is left out)."""
        return not self.trimmed or (bool(self._bases) and offset >= self._bases[0])

    def chunk_for(self, offset: int) -> int | None:
        """Index of the chunk holding `offset`, or of the first chunk after it (gaps)."""
        i = bisect.bisect_right(self._bases, offset) - 1
        if i >= 0 and self.chunks[i].last_offset >= offset:
            return i
        if i + 1 < len(self.chunks):
            return i + 1
        return None

    def drop_chunks_before(self, offset: int) -> int:
        """Forget the chunks wholly below `offset` (retention): returns how many were in memory.

        The caller sets `size_bytes`: only it knows the sizes of the chunks not in memory.
        """
        i = 0
        while i < len(self.chunks) and self.chunks[i].last_offset < offset:
            i += 1
        del self.chunks[:i]
        del self._bases[:i]
        self.log_start_offset = max(self.log_start_offset, offset)
        if self.trimmed and (not self._bases or self._bases[0] <= self.log_start_offset):
            self.trimmed = False
        return i

    # -- high watermark ------------------------------------------------------------

    def advance(self, high_watermark: int) -> None:
        if high_watermark > self.high_watermark:
            self.high_watermark = high_watermark
            waiter, self._hw_changed = self._hw_changed, None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def hw_changed(self) -> asyncio.Future[None]:
        """A future that resolves the next time the high watermark moves."""
        if self._hw_changed is None or self._hw_changed.done():
            self._hw_changed = asyncio.get_running_loop().create_future()
        return self._hw_changed
