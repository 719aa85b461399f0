"""The segment log over every object store (local folder, memory, S3 via moto) and both catalogues."""

import asyncio
import contextlib
import time
from dataclasses import dataclass

import pytest

from coordinator.catalogue import AgentId, Catalogue
from storage import metrics
from storage.errors import CorruptRecordSet, OffsetOutOfRange, RecordTooLarge
from storage.flush import FlushPolicy
from storage.log import LogManager, LogOptions
from storage.objectstore import ObjectStore
from storage.partition import PartitionLog
from storage.recordbatch import build_batch, decode_records, validate_record_set


def batch(n: int, start: int = 0, **kw) -> bytes:
    return build_batch(
        [(b"k%d" % i, b"v%d" % i, [("h", b"x")], 1000 + i) for i in range(start, start + n)], **kw
    )


@dataclass
class MemoryLog:
    cat: Catalogue
    store: ObjectStore
    logs: LogManager
    plogs: list[PartitionLog]

    @property
    def plog(self) -> PartitionLog:
        return self.plogs[0]


@contextlib.asynccontextmanager
async def memory_log(tmp_path, *, partitions=1, config=None, **policy):
    """A topic "t" on an in-memory catalogue and store, with this agent leading every partition."""
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    try:
        topic = await cat.create_topic("t", partitions, config)
        store = ObjectStore.from_url("memory://")
        logs = await open_log(cat, store, tmp_path, **policy)
        try:
            plogs = [await logs.partition(topic, p) for p in range(partitions)]
            yield MemoryLog(cat=cat, store=store, logs=logs, plogs=plogs)
        finally:
            await logs.stop()
    finally:
        await cat.close()


async def open_log(catalogue, store, tmp_path, **policy) -> LogManager:
    logs = LogManager(
        catalogue=catalogue,
        store=store,
        agent_id=AgentId("a1"),
        options=LogOptions(
            wal_dir=tmp_path / "wal", flush=FlushPolicy(**policy), retention_check_seconds=3600
        ),
    )
    await logs.start()
    return logs


async def test_append_flush_read_across_stores(catalogue, object_store, tmp_path):
    """Every object store (folder, memory, S3) under both catalogues (SQLite, PostgreSQL)."""
    cat = catalogue
    topic = await cat.create_topic("t", 2)
    logs = await open_log(cat, object_store, tmp_path)
    p0 = await logs.partition(topic, 0)
    results = [logs.append(p0, batch(5, i * 5), acks=-1) for i in range(4)]
    await asyncio.gather(*(r.durable for r in results))
    assert [r.base_offset for r in results] == [0, 5, 10, 15]
    assert p0.high_watermark == 20
    read = await logs.read(p0, 7, 1 << 20)
    records = decode_records(read.records)
    assert records[0].offset <= 7 and records[-1].offset == 19
    assert [r.value for r in records if r.offset >= 7] == [b"v%d" % i for i in range(7, 20)]
    # Every flush object says in its footer what it holds, matching the chunk index.
    from storage.segment import decode_footer

    indexed = {(c.object_key, c.byte_start): c for c in await cat.list_chunks(topic.id, 0, 0)}
    footers = 0
    for key in await object_store.list_keys():
        obj = await object_store.get(key)
        for e in decode_footer(obj):
            chunk = indexed[(key, e.byte_start)]
            assert (e.base_offset, e.last_offset, e.byte_length, e.record_count) == (
                chunk.base_offset, chunk.last_offset, chunk.byte_length, chunk.record_count)
            data = obj[e.byte_start : e.byte_start + e.byte_length]
            assert [h.base_offset for h in validate_record_set(data)][0] == e.base_offset
            footers += 1
    assert footers == len(indexed) >= 1
    # A fresh agent reads the same data back from the store (no memory cache).
    await logs.stop()
    logs2 = await open_log(cat, object_store, tmp_path)
    p0b = await logs2.partition(await cat.get_topic("t"), 0)
    assert p0b.high_watermark == 20
    again = decode_records((await logs2.read(p0b, 0, 1 << 20)).records)
    assert [r.offset for r in again] == list(range(20))
    with pytest.raises(OffsetOutOfRange):
        await logs2.read(p0b, 21, 100)
    assert (await logs2.read(p0b, 20, 100)).records == b""
    await logs2.stop()


async def test_postgres_catalogue_with_s3(pg_url, s3_env, tmp_path):
    cat = Catalogue.from_url(pg_url)
    await cat.open()
    store = ObjectStore.from_url(f"s3://{s3_env['BUCKET']}/x")
    topic = await cat.create_topic("t", 1)
    logs = await open_log(cat, store, tmp_path)
    plog = await logs.partition(topic, 0)
    r = logs.append(plog, batch(10), acks=-1)
    await r.durable
    assert plog.high_watermark == 10
    keys = await store.list_keys()
    assert len(keys) == 1 and "org-default/objects/" in keys[0], keys
    read = decode_records((await logs.read(plog, 0, 1 << 20)).records)
    assert [r.offset for r in read] == list(range(10))
    await logs.stop()
    await cat.close()


async def test_max_bytes_returns_whole_batches(tmp_path):
    async with memory_log(tmp_path) as m:
        logs = m.logs
        plog = m.plog
        one = batch(10)
        futures = [logs.append(plog, one, acks=-1).durable for _ in range(6)]
        await asyncio.gather(*futures)
        small = await logs.read(plog, 0, 1)
        assert len(validate_record_set(small.records)) == 1  # the first batch, even over the limit
        served = metrics.FETCH_RECORDS.labels("default", "t")
        before = served._value.get()
        two = await logs.read(plog, 0, len(one) * 2 + 5)
        assert len(validate_record_set(two.records)) == 2
        assert served._value.get() - before == 20  # counted from headers, per batch
        before = served._value.get()
        tail = await logs.read(plog, 25, 1 << 20)  # from inside a chunk: the batches from 20
        assert served._value.get() - before == len(decode_records(tail.records)) == 40
        # A later partition of a fetch gets nothing rather than going over the limit.
        assert (await logs.read(plog, 0, 1, oversize_first=False)).records == b""


async def test_refusals(tmp_path):
    async with memory_log(tmp_path, config={"max.message.bytes": "200"}) as m:
        logs = m.logs
        plog = m.plog
        bad = bytearray(batch(1))
        bad[-1] ^= 1
        with pytest.raises(CorruptRecordSet):
            logs.append(plog, bytes(bad), acks=-1)
        with pytest.raises(RecordTooLarge):
            logs.append(plog, build_batch([(None, b"x" * 500, [], 1)]), acks=-1)
        assert plog.next_offset == 0


async def test_group_commit_respects_the_put_budget(tmp_path):
    """Many small appends from many 'producers' cost at most the budget's PUTs per second."""
    async with memory_log(tmp_path, partitions=4, max_flushes_per_second=5) as m:
        logs = m.logs
        plogs = m.plogs
        store = m.store
        started = time.monotonic()
        futures = []
        while time.monotonic() - started < 1.5:
            for plog in plogs:
                futures.append(logs.append(plog, batch(2), acks=-1).durable)
            await asyncio.sleep(0.002)
        await asyncio.gather(*futures)
        elapsed = time.monotonic() - started
        objects = len(await store.list_keys())
        assert len(futures) > 100
        assert objects <= 5 * elapsed + 2, (objects, elapsed)
        assert sum(p.high_watermark for p in plogs) == 2 * len(futures)


async def test_a_lone_produce_is_flushed_at_once(tmp_path):
    async with memory_log(tmp_path, max_flushes_per_second=1) as m:
        logs = m.logs
        plog = m.plog
        await asyncio.sleep(1.1)  # the budget is free
        started = time.monotonic()
        await logs.append(plog, batch(1), acks=-1).durable
        # No fixed linger: one PUT and one commit (well under the 1 s budget interval).
        assert time.monotonic() - started < 0.5


async def test_the_budget_caps_flushes_however_much_data_arrives(tmp_path):
    """Under load objects grow, their number does not: at most one flush per budget interval."""
    async with memory_log(tmp_path, max_flushes_per_second=2) as m:
        logs = m.logs
        plog = m.plog
        await logs.append(plog, batch(1), acks=-1).durable  # uses the budget
        before = logs.buffer.flushes
        started = time.monotonic()
        big = [build_batch([(None, b"x" * 200_000, [], 1)]) for _ in range(40)]  # 8 MB
        waits = [logs.append(plog, b, acks=-1).durable for b in big]
        await asyncio.gather(*waits)
        elapsed = time.monotonic() - started
        assert logs.buffer.flushes - before == 1  # all 8 MB in the next flush
        assert 0.3 < elapsed < 2.0  # it waited for the budget's next slot (0.5 s)


async def test_retention_by_size_and_time(tmp_path):
    async with memory_log(tmp_path, config={"retention.bytes": "1", "retention.ms": "-1"}) as m:
        logs = m.logs
        plog = m.plog
        store = m.store
        cat = m.cat
        for i in range(3):
            await logs.append(plog, batch(5, i * 5), acks=-1).durable
        assert await logs.enforce_retention() == 2
        assert plog.log_start_offset == 10
        assert len(await store.list_keys()) == 1
        with pytest.raises(OffsetOutOfRange):
            await logs.read(plog, 0, 100)
        assert decode_records((await logs.read(plog, 10, 1 << 20)).records)[0].offset == 10
        # By time: the records' timestamps (1970) are far older than a day.
        logs.update_topic(await cat.set_topic_config("t", {"retention.ms": "86400000"}))
        assert await logs.enforce_retention() == 1
        assert plog.log_start_offset == plog.high_watermark == 15
        assert await store.list_keys() == []


async def test_compacted_topics_are_not_trimmed_by_retention(tmp_path):
    config = {"cleanup.policy": "compact", "retention.bytes": "1", "retention.ms": "1"}
    async with memory_log(tmp_path, config=config) as m:
        for i in range(3):
            await m.logs.append(m.plog, batch(5, i * 5), acks=-1).durable
        assert await m.logs.enforce_retention() == 0
        assert m.plog.log_start_offset == 0
        # compact,delete: retention applies again.
        m.logs.update_topic(await m.cat.set_topic_config("t", {**config, "cleanup.policy": "compact,delete"}))
        assert await m.logs.enforce_retention() == 3
        assert m.plog.log_start_offset == 15


async def test_offsets_by_timestamp(tmp_path):
    async with memory_log(tmp_path) as m:
        logs = m.logs
        plog = m.plog
        await logs.append(plog, batch(10), acks=-1).durable  # timestamps 1000..1009
        assert await logs.offset_for_timestamp(plog, 1004) == (4, 1004)
        assert await logs.offset_for_timestamp(plog, 0) == (0, 1000)
        assert await logs.offset_for_timestamp(plog, 5000) == (-1, -1)
        assert await logs.offset_for_max_timestamp(plog) == (9, 1009)


async def test_a_follower_view_opened_during_a_bulk_take_is_led(tmp_path):
    """A request can open a partition as a follower just before the lease keeper's bulk
    take names this agent its leader in the catalogue; the keeper's next step leads it
    (otherwise it would answer NOT_LEADER while the catalogue sends every client here)."""
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    logs = await open_log(cat, ObjectStore.from_url("memory://"), tmp_path)
    try:
        topic = await cat.create_topic("t", 1)
        logs.solo = False  # as if another agent were alive: no lease taken on first use
        view = await logs.partition(topic, 0)
        assert not view.is_leader
        await cat.acquire_free_leases(AgentId("a1"), [(topic.id, 0)], 10_000)
        for _ in range(100):  # the keeper steps every 0.25 s
            plog = await logs.partition(topic, 0)
            if plog.is_leader:
                break
            await asyncio.sleep(0.05)
        assert plog.is_leader
        assert (await logs.append(plog, batch(3), acks=-1).durable) is None
        [state] = await cat.list_partitions(topic.id)
        assert state.leader_agent == "a1" and state.high_watermark == 3
    finally:
        await logs.stop()
        await cat.close()


async def _org_topics(cat: Catalogue, n: int):
    from coordinator.catalogue import OrgId

    topics = []
    for i in range(n):
        await cat.tenants.create_org(f"o{i}", f"org-{i}", f"Org {i}", "free")
        topics.append(await cat.create_topic("orders", 1, org_id=OrgId(f"o{i}")))
    return topics


async def test_a_flush_writes_at_most_objects_per_flush_whatever_the_tenants(tmp_path):
    """Ten organizations in one flush, three objects: the two largest keep their own under
    their prefix, the other eight share one under shared/; every record reads back."""
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    store = ObjectStore.from_url("memory://")
    topics = await _org_topics(cat, 10)
    logs = await open_log(cat, store, tmp_path, objects_per_flush=3, max_flushes_per_second=0.5)
    try:
        plogs = [await logs.partition(t, 0) for t in topics]
        await logs.append(plogs[0], batch(1), acks=-1).durable  # takes the budget: one flush next
        before = set(await store.list_keys())
        waits = []
        for i, plog in enumerate(plogs):
            count = 50 if i in (3, 7) else 2  # o3 and o7 are the large ones
            waits.append(logs.append(plog, batch(count), acks=-1).durable)
        await asyncio.gather(*waits)
        keys = sorted(set(await store.list_keys()) - before)
        assert len(keys) == 3, keys
        own = sorted(k.split("/")[0] for k in keys if not k.startswith("shared/"))
        assert own == ["org-o3", "org-o7"]
        [shared] = [k for k in keys if k.startswith("shared/")]
        in_shared = {c.topic_id for t in topics for c in await cat.list_chunks(t.id, 0)
                     if c.object_key == shared}
        assert in_shared == {t.id for i, t in enumerate(topics) if i not in (3, 7)}
        for i, plog in enumerate(plogs):
            records = decode_records((await logs.read(plog, 0, 1 << 20)).records)
            assert len(records) == (1 if i == 0 else 0) + (50 if i in (3, 7) else 2)
        # Deleting every topic of the shared object frees it; a large tenant's stays its own.
        for t in topics:
            if t.id in in_shared:
                await cat.delete_topic("orders", t.org_id)
                await logs.delete_topic_data(t)
        assert shared not in await store.list_keys()
    finally:
        await logs.stop()
        await cat.close()


async def test_one_organization_cannot_fill_the_write_buffer_for_the_others(tmp_path):
    from storage.errors import BufferFull

    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    store = ObjectStore.from_url("memory://")
    topics = await _org_topics(cat, 2)
    logs = await open_log(cat, store, tmp_path, max_buffer_bytes=200_000,
                          tenant_buffer_share=0.5, partition_buffer_share=1.0,
                          max_flushes_per_second=0.2)
    try:
        noisy, quiet = [await logs.partition(t, 0) for t in topics]
        await logs.append(noisy, batch(1), acks=-1).durable  # the next flush is 5 s away
        big = build_batch([(None, b"x" * 30_000, [], 1)])
        for _ in range(3):
            logs.append(noisy, big, acks=1)
        with pytest.raises(BufferFull, match="share"):
            logs.append(noisy, big, acks=1)
        # The other organization still has its share of the buffer.
        for _ in range(3):
            logs.append(quiet, big, acks=1)
        assert logs.buffer.buffered_bytes > 150_000
    finally:
        await logs.stop()
        await cat.close()


async def test_a_hot_partition_cannot_take_the_write_buffer_from_the_others(tmp_path):
    """Each partition may hold its share of the buffer: past it that partition is refused
    (BufferFull, answered as the retriable KAFKA_STORAGE_ERROR) while the others still
    append; a flush gives the room back; a batch larger than the share still goes alone."""
    from storage.errors import BufferFull

    big = build_batch([(None, b"x" * 30_000, [], 1)])
    async with memory_log(tmp_path, partitions=3, max_buffer_bytes=200_000,
                          partition_buffer_share=0.4, max_flushes_per_second=0.2) as m:
        hot, cold, other = m.plogs
        logs = m.logs
        await logs.append(hot, batch(1), acks=-1).durable  # the next flush is 5 s away
        logs.append(hot, big, acks=1)
        logs.append(hot, big, acks=1)
        with pytest.raises(BufferFull, match=r"t-0 holds \d+ bytes .* share is 80000"):
            logs.append(hot, big, acks=1)
        for plog in (cold, other, cold, other):  # the buffer is not full: the others go on
            logs.append(plog, big, acks=1)
        assert cold.buffered_bytes == other.buffered_bytes == 2 * len(big)
        assert 2 * len(big) <= hot.buffered_bytes <= 80_000
        await logs.buffer.drain()
        assert hot.buffered_bytes == cold.buffered_bytes == other.buffered_bytes == 0
        logs.append(hot, big, acks=1)  # room again
        await logs.buffer.drain()
        huge = build_batch([(None, b"y" * 90_000, [], 1)])
        logs.append(other, huge, acks=1)  # over the share, but the partition held nothing


async def test_the_lease_keeper_reads_every_lease_only_when_something_changed(tmp_path):
    """A tick is a renewal and a summary (lease counts per holder): the keeper reads every
    partition's lease on its first tick, after a change (a new topic, a lease lost), and
    at least every `full_every` seconds, not on every tick, so an idle agent's cost does
    not grow with its partitions."""
    from storage.leases import LeaseKeeper

    async with memory_log(tmp_path, partitions=20) as m:
        keeper = LeaseKeeper(m.logs, tick_seconds=0.01)
        keeper._full_every = 3600.0  # noqa: SLF001 - only the changes trigger, here
        await keeper.step()
        assert keeper.full_reads == 1
        keeper._full_every = 3600.0  # noqa: SLF001
        for _ in range(5):
            await keeper.step()
        assert keeper.full_reads == 1, "read every lease on an idle tick"
        # A new topic: its partitions are free, so the summary moves and they are taken.
        await m.cat.create_topic("more", 5)
        await keeper.step()
        assert keeper.full_reads == 2
        keeper._full_every = 3600.0  # noqa: SLF001
        led = {s.topic_id for s in await m.cat.partition_leases() if s.leader_agent == "a1"}
        assert len(led) == 2, "the new topic's partitions were not taken"
        await keeper.step()  # the takes moved the summary once more
        await keeper.step()
        assert keeper.full_reads == 3
        # A lease lost to another agent is seen at the next tick and fenced.
        plog = m.plogs[0]
        await m.cat.driver.execute(
            "UPDATE partitions SET leader_agent = 'a2', leader_epoch = leader_epoch + 1"
            " WHERE topic_id = $1 AND partition = 0", plog.topic_id)
        await keeper.step()
        assert keeper.full_reads == 4
        assert not plog.is_leader


async def test_flushes_come_at_the_base_cadence_unless_a_producer_waits(tmp_path):
    """Batches already answered (acks=1) wait out the base cadence; an acks=all batch, or
    `early_flush_bytes` waiting, flushes as soon as the cap allows."""
    async with memory_log(tmp_path, partitions=1, max_flushes_per_second=50,
                          base_flushes_per_second=0.5, early_flush_bytes=100_000) as m:
        plog, logs = m.plogs[0], m.logs
        await logs.append(plog, batch(1), acks=-1).durable  # the first flush: nothing before
        answered = logs.append(plog, batch(1), acks=1)
        await asyncio.sleep(0.5)
        assert not answered.durable.done(), "acks=1 alone flushed before the base cadence"
        waiting = logs.append(plog, batch(1), acks=-1)
        await asyncio.wait_for(waiting.durable, 1.0)  # well before the 2 s cadence
        assert answered.durable.done()  # it went with it
        await asyncio.sleep(0.1)
        answered = logs.append(plog, batch(1), acks=1)
        big = build_batch([(None, b"x" * 120_000, [], 1)])
        heavy = logs.append(plog, big, acks=1)
        await asyncio.wait_for(heavy.durable, 1.0)  # enough bytes wait
        assert answered.durable.done()


async def read_all(logs: LogManager, plog: PartitionLog, offset: int) -> list[int]:
    offsets: list[int] = []
    while offset < plog.high_watermark:
        got = decode_records((await logs.read(plog, offset, 1 << 20)).records)
        assert got, f"nothing read at {offset}"
        offsets += [r.offset for r in got if r.offset >= offset]
        offset = offsets[-1] + 1
    return offsets


async def test_a_long_log_keeps_only_its_newest_chunks_in_memory(catalogue, tmp_path, monkeypatch):
    """The in-memory chunk index is bounded; reads, offsets by time, retention, a reopened
    view and a follower far behind go to the catalogue's index for the older chunks."""
    monkeypatch.setattr(PartitionLog, "INDEX_CHUNKS", 8)
    cat = catalogue
    topic = await cat.create_topic("t", 1)
    store = ObjectStore.from_url("memory://")
    logs = await open_log(cat, store, tmp_path)
    follower = LogManager(catalogue=cat, store=store, agent_id=AgentId("a2"),
                          options=LogOptions(wal_dir=tmp_path / "wal2"))
    try:
        plog = await logs.partition(topic, 0)
        for i in range(30):  # one flush, so one chunk, each
            await logs.append(plog, batch(5, i * 5), acks=-1).durable
        assert plog.trimmed and len(plog.chunks) <= 8 and plog.chunks[0].base_offset > 0
        assert await read_all(logs, plog, 0) == list(range(150))
        assert await read_all(logs, plog, 42) == list(range(42, 150))
        assert await logs.offset_for_timestamp(plog, 1003) == (3, 1003)
        assert await logs.offset_for_timestamp(plog, 1100) == (100, 1100)
        assert await logs.offset_for_max_timestamp(plog) == (149, 1149)
        state = await cat.get_partition(topic.id, 0)
        assert plog.size_bytes == state.size_bytes

        # A follower view opened now, then left behind by more than its index holds.
        view = await follower.partition(topic, 0)
        assert not view.is_leader and view.trimmed and len(view.chunks) <= 8
        for i in range(30, 50):
            await logs.append(plog, batch(5, i * 5), acks=-1).durable
        assert await read_all(follower, view, 140) == list(range(140, 250))
        assert view.trimmed and len(view.chunks) <= 8

        # Retention walks the catalogue's pages, then the index; the bytes add up.
        keep = sum(c.byte_length for c in plog.chunks[-3:])
        logs.update_topic(await cat.set_topic_config(
            "t", {"retention.bytes": str(keep), "retention.ms": "-1"}
        ))
        assert await logs.enforce_retention() == 47
        assert plog.log_start_offset == 235 and not plog.trimmed
        assert plog.size_bytes == keep == (await cat.get_partition(topic.id, 0)).size_bytes
        assert await read_all(logs, plog, 235) == list(range(235, 250))
        assert len(await cat.list_chunks(topic.id, 0)) == 3
    finally:
        await logs.stop()

    # Reopened: only the newest chunks are read back into memory.
    logs = await open_log(cat, store, tmp_path)
    try:
        for i in range(50, 70):
            await logs.append(await logs.partition(topic, 0), batch(5, i * 5), acks=-1).durable
        await logs.stop()
        logs = await open_log(cat, store, tmp_path)
        plog = await logs.partition(topic, 0)
        assert plog.trimmed and len(plog.chunks) == 8
        assert await read_all(logs, plog, 235) == list(range(235, 350))
    finally:
        await logs.stop()
