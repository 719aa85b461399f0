"""Reading the log: Kafka's Fetch (whole batches, long-poll on min_bytes), ListOffsets
(earliest, latest, max timestamp, by timestamp) and records decoded for HTTP."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coordinator.catalogue import Topic
from storage.partition import PartitionLog
from storage.recordbatch import BatchHeader, Record, decode_records, scan_headers

from . import errors, metrics
from .acls import Operation as Op
from .browse import RecordFilter, Stream, around, merge
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

LATEST, EARLIEST, MAX_TIMESTAMP = -1, -2, -3


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchPartition:
    topic: str
    partition: int
    offset: int
    max_bytes: int


@dataclass(slots=True, kw_only=True)
class PartitionRead:
    partition: int
    error: errors.BrokerError | None = None
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    records: bytes | None = None  # None: nothing read (an error, or past the byte budget)


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    reads: list[PartitionRead]
    throttle_ms: int  # over the consumer_byte_rate quota: how long to hold off


@dataclass(frozen=True, slots=True, kw_only=True)
class OffsetAnswer:
    offset: int
    timestamp: int
    leader_epoch: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordsRead:
    topic: str
    partition: int
    records: list[Record]
    next_offset: int
    high_watermark: int


@dataclass(slots=True)
class BrowsePage:
    topic: str
    records: list[tuple[int, Record]]  # (partition, record), by timestamp then partition
    before: dict[int, int]  # end-exclusive offsets for the older page
    after: dict[int, int]  # start offsets for the newer page
    low: dict[int, int]
    high: dict[int, int]
    scanned: int

    @property
    def has_older(self) -> bool:
        return any(self.before[p] > self.low[p] for p in self.before)

    @property
    def has_newer(self) -> bool:
        return any(self.after[p] < self.high[p] for p in self.after)


class Fetch:
    def __init__(self, broker: Broker) -> None:
        self._b = broker
        self._decoded: OrderedDict[tuple[str, int, int, int], list[Record]] = OrderedDict()
        self._decoded_count = 0

    async def partition_log(self, ctx: RequestContext, topic: Topic, partition: int) -> PartitionLog:
        try:
            return await self._b.logs.partition(topic, partition)
        except Exception as exc:
            raise errors.translate(exc) from exc

    async def fetch(
        self,
        ctx: RequestContext,
        wanted: Sequence[FetchPartition],
        *,
        max_bytes: int,
        min_bytes: int,
        max_wait_s: float,
    ) -> FetchResult:
        """Whole batches from each offset, in order, until `min_bytes` are there or
        `max_wait_s` passes (waiting on high-watermark events, never polling)."""
        deadline = time.monotonic() + max(max_wait_s, 0)
        min_bytes = max(min_bytes, 1)
        targets: list[tuple[PartitionRead, PartitionLog | None, FetchPartition]] = []
        topics: dict[str, Topic | None] = {}
        denied: dict[str, errors.BrokerError] = {}
        for w in wanted:
            read = PartitionRead(partition=w.partition)
            plog = None
            if w.topic not in topics:
                try:
                    topics[w.topic] = await self._b.topics.get(ctx, w.topic, op=Op.READ)
                except errors.NotAuthorized as exc:
                    topics[w.topic] = None
                    denied[w.topic] = exc
            topic = topics[w.topic]
            if w.topic in denied:
                read.error = denied[w.topic]
            elif topic is None:
                read.error = errors.UnknownTopicOrPartition(f"topic {w.topic!r} does not exist")
            else:
                try:
                    plog = await self._b.logs.partition(topic, w.partition)
                except Exception as exc:
                    read.error = errors.translate(exc)
            targets.append((read, plog, w))
        while True:
            total = await self._read_all(targets, max_bytes)
            remaining = deadline - time.monotonic()
            if total >= min_bytes or remaining <= 0:
                break
            waiting = [p for r, p, _w in targets if p is not None and r.error is None]
            if not waiting:
                break
            await self._b.logs.wait_for_data(waiting, remaining)
            if time.monotonic() >= deadline and not any(
                p.high_watermark > w.offset for _r, p, w in targets if p is not None
            ):
                break
        reads = [r for r, _p, _w in targets]
        sent = sum(len(r.records) for r in reads if r.records)
        if sent:
            metrics.bytes_out(ctx.org_id, sent)
        return FetchResult(reads=reads, throttle_ms=self._b.quotas.charge_now(
            ctx, "consumer_byte_rate", sent) if sent else 0)

    async def _read_all(
        self, targets: list[tuple[PartitionRead, PartitionLog | None, FetchPartition]],
        max_bytes: int,
    ) -> int:
        total = 0
        for read, plog, w in targets:
            if plog is None:
                continue
            read.error = None
            read.records = None
            budget = min(w.max_bytes, max(max_bytes - total, 0))
            try:
                result = None
                if budget > 0 or total == 0:
                    # Only the first partition with data may go over the limit (KIP-74).
                    result = await self._b.logs.read(plog, w.offset, max(budget, 1),
                                                     oversize_first=total == 0)
            except Exception as exc:
                read.error = errors.translate(exc)
            read.high_watermark = plog.high_watermark
            # No transactions yet: every offset below the high watermark is stable.
            read.last_stable_offset = plog.high_watermark
            read.log_start_offset = plog.log_start_offset
            if result is not None:
                read.records = result.records
                total += len(result.records)
        return total

    async def list_offset(
        self, ctx: RequestContext, topic: Topic, partition: int, timestamp: int
    ) -> OffsetAnswer:
        """ListOffsets for one partition: -1 latest, -2 earliest, -3 max timestamp, or the
        first offset whose timestamp is >= `timestamp` (-1 when there is none)."""
        plog = await self.partition_log(ctx, topic, partition)
        try:
            await self._b.logs.refresh(plog)
            if timestamp == LATEST:
                offset, ts = plog.high_watermark, -1
            elif timestamp == EARLIEST:
                offset, ts = plog.log_start_offset, -1
            elif timestamp == MAX_TIMESTAMP:
                offset, ts = await self._b.logs.offset_for_max_timestamp(plog)
            elif timestamp < 0:
                raise errors.InvalidRequest(f"timestamp {timestamp} is not a time nor -1/-2/-3")
            else:
                offset, ts = await self._b.logs.offset_for_timestamp(plog, timestamp)
        except errors.BrokerError:
            raise
        except Exception as exc:
            raise errors.translate(exc) from exc
        return OffsetAnswer(offset=offset, timestamp=ts, leader_epoch=plog.leader_epoch)

    async def offset_at_or_end(
        self, ctx: RequestContext, topic: Topic, partition: int, timestamp: int
    ) -> int:
        """The first offset at or after `timestamp`, or the high watermark when none is."""
        found = await self.list_offset(ctx, topic, partition, timestamp)
        if found.offset >= 0:
            return found.offset
        return (await self.list_offset(ctx, topic, partition, LATEST)).offset

    async def _refuse_over_quota(self, ctx: RequestContext) -> None:
        """HTTP reads cannot be muted as Kafka fetches are: over the consumer_byte_rate
        quota they are refused (429 with Retry-After)."""
        debt = await self._b.quotas.debt_ms(ctx, "consumer_byte_rate")
        if debt:
            raise errors.QuotaExceeded(f"over the consumer_byte_rate quota: retry in {debt} ms",
                                       retry_after_ms=debt)

    def _charge(self, ctx: RequestContext, read_bytes: int) -> None:
        if read_bytes:
            metrics.bytes_out(ctx.org_id, read_bytes)
            self._b.quotas.charge_now(ctx, "consumer_byte_rate", read_bytes)

    async def _records(
        self, plog: PartitionLog, start: int, end: int
    ) -> AsyncIterator[tuple[list[Record], int]]:
        """The decoded records of [start, end), a read at a time, with each read's bytes.
        Batches are decoded once and kept a while (the `_decoded` LRU): pages of the
        console's browser walk one big batch 50 records at a time."""
        position = start
        while position < end:
            # A small read: the batch holding `position` comes whole whatever its size,
            # and a page needs tens of records, not a megabyte of them.
            result = await self._b.logs.read(plog, position, 64 * 1024)
            records: list[Record] = []
            data = result.records
            for h in scan_headers(data):
                if h.last_offset < position:
                    continue
                records.extend(r for r in self._decoded_batch(plog, h, data)
                               if position <= r.offset < end)
                if h.last_offset >= end - 1:
                    break
            if not records:
                return
            yield records, len(data)
            position = records[-1].offset + 1

    DECODED_RECORDS_KEPT = 100_000

    def _decoded_batch(self, plog: PartitionLog, h: BatchHeader, data: bytes) -> list[Record]:
        # A committed batch never changes at its place: (topic id, partition, base offset,
        # size) names its records for good (topic ids are not reused).
        key = (plog.topic_id, plog.partition, h.base_offset, h.size)
        found = self._decoded.get(key)
        if found is not None:
            self._decoded.move_to_end(key)
            return found
        records = decode_records(bytes(data[h.position:h.position + h.size]))
        self._decoded[key] = records
        self._decoded_count += len(records)
        while self._decoded_count > self.DECODED_RECORDS_KEPT and len(self._decoded) > 1:
            _k, gone = self._decoded.popitem(last=False)
            self._decoded_count -= len(gone)
        return records

    async def browse(
        self,
        ctx: RequestContext,
        topic_name: str,
        *,
        partitions: Sequence[int] | None = None,
        start: dict[int, int] | None = None,
        position: str = "earliest",
        offset: int | None = None,
        timestamp: int | None = None,
        forward: bool = True,
        limit: int = 50,
        where: RecordFilter | None = None,
        max_scan: int = 20_000,
    ) -> BrowsePage:
        """A page of records across partitions (broker/browse.py): from a cursor (`start`,
        one offset per partition: a start forward, an end-exclusive offset backward), or
        from `position`: earliest, latest (the newest page, read backward), an `offset` on
        every partition, or the first record at or after `timestamp`. At most `max_scan`
        records are read looking for `where`'s matches; the cursors say where to go on."""
        topic = await self._b.topics.require(ctx, topic_name, op=Op.READ)
        await self._refuse_over_quota(ctx)
        chosen = sorted(set(partitions)) if partitions else list(range(topic.partition_count))
        for p in chosen:
            if not 0 <= p < topic.partition_count:
                raise errors.UnknownPartition(f"{topic_name} has no partition {p}")
        where = where or RecordFilter()
        logs = {p: await self.partition_log(ctx, topic, p) for p in chosen}
        try:
            for plog in logs.values():
                await self._b.logs.refresh(plog)
            low = {p: plog.log_start_offset for p, plog in logs.items()}
            high = {p: plog.high_watermark for p, plog in logs.items()}
            if start is None and position == "latest":
                forward = False
            begin: dict[int, int] = {}
            for p in chosen:
                if start is not None:
                    at = start.get(p, low[p] if forward else high[p])
                elif position == "latest":
                    at = high[p]
                elif position == "timestamp" and timestamp is not None:
                    at = await self.offset_at_or_end(ctx, topic, p, timestamp)
                elif position == "offset" and offset is not None:
                    at = offset
                else:
                    at = low[p]
                begin[p] = min(max(at, low[p]), high[p])
            budget = max(limit, max_scan // max(1, len(chosen)))
            streams: list[Stream] = []
            scanned = read_bytes = 0
            for p in chosen:
                stream, n, cost = await (self._scan_forward if forward else self._scan_backward)(
                    logs[p], begin[p], low[p] if not forward else high[p], limit, budget, where)
                streams.append(stream)
                scanned += n
                read_bytes += cost
        except errors.BrokerError:
            raise
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._charge(ctx, read_bytes)
        shown, cursor = merge(streams, limit, forward=forward)
        before, after = around(shown, begin, cursor, forward=forward)
        return BrowsePage(topic=topic_name, records=shown, before=before, after=after,
                          low=low, high=high, scanned=scanned)

    async def _scan_forward(self, plog: PartitionLog, begin: int, end: int, limit: int,
                            budget: int, where: RecordFilter) -> tuple[Stream, int, int]:
        found: list[Record] = []
        position, scanned, cost = begin, 0, 0
        async for records, n in self._records(plog, begin, end):
            cost += n
            for r in records:
                scanned += 1
                position = r.offset + 1
                if where.matches(r):
                    found.append(r)
                if len(found) >= limit or scanned >= budget:
                    break
            if len(found) >= limit or scanned >= budget:
                break
        return Stream(partition=plog.partition, records=found, scanned_to=position,
                      start=begin), scanned, cost

    async def _scan_backward(self, plog: PartitionLog, begin: int, floor: int, limit: int,
                             budget: int, where: RecordFilter) -> tuple[Stream, int, int]:
        found: list[Record] = []  # newest first
        top, scanned, cost = begin, 0, 0
        window = max(limit, 64)
        while top > floor and len(found) < limit and scanned < budget:
            bottom = max(floor, top - window)
            window *= 2
            part: list[Record] = []
            async for records, n in self._records(plog, bottom, top):
                cost += n
                scanned += len(records)
                part.extend(r for r in records if where.matches(r))
            found.extend(reversed(part))
            top = bottom
        # A window can overshoot the limit: what was found beyond it is scanned again.
        return Stream(partition=plog.partition, records=found, scanned_to=top,
                      start=begin), scanned, cost

    async def read_records(
        self,
        ctx: RequestContext,
        topic_name: str,
        partition: int,
        *,
        offset: int | None = None,
        timestamp: int | None = None,
        max_records: int = 100,
    ) -> RecordsRead:
        """Decoded records from an offset (the log start by default) or a time, for HTTP.
        Over the consumer_byte_rate quota it is refused (QuotaExceeded: 429 with
        Retry-After), as HTTP cannot be muted; the bytes read are charged against it."""
        topic = await self._b.topics.require(ctx, topic_name, op=Op.READ)
        await self._refuse_over_quota(ctx)
        if not 0 <= partition < topic.partition_count:
            raise errors.UnknownPartition(f"{topic_name} has no partition {partition}")
        plog = await self.partition_log(ctx, topic, partition)
        if timestamp is not None:
            start = await self.offset_at_or_end(ctx, topic, partition, timestamp)
        else:
            start = plog.log_start_offset if offset is None else offset
        if not plog.log_start_offset <= start <= plog.high_watermark:
            raise errors.OffsetOutOfRange(
                f"offset {start} is outside [{plog.log_start_offset}, {plog.high_watermark}]"
                f" of {topic_name}-{partition}"
            )
        out: list[Record] = []
        position = start
        read_bytes = 0
        try:
            async for records, cost in self._records(plog, start, plog.high_watermark):
                read_bytes += cost
                out.extend(records[: max_records - len(out)])
                position = out[-1].offset + 1
                if len(out) >= max_records:
                    break
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._charge(ctx, read_bytes)
        return RecordsRead(topic=topic_name, partition=partition, records=out,
                           next_offset=position, high_watermark=plog.high_watermark)
