"""The message browser's paging (broker/browse.py, Fetch.browse) on a real broker in
process: pages forward and back by cursors visit every record exactly once, whatever the
timestamps; filters; positions by offset, time and latest; bad cursors refused."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from broker import errors
from broker.browse import RecordFilter, format_cursor, parse_cursor
from broker.context import RequestContext
from broker.runtime import Runtime, RuntimeOptions
from broker.service import Broker, BrokerOptions
from storage.recordbatch import build_batch

from .test_kafka_handlers import StubPeers

CTX = RequestContext.anonymous("rest")
T0 = 1_700_000_000_000


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    runtime = Runtime(RuntimeOptions(
        catalogue_url=f"sqlite:///{tmp_path}/cat.db", objects_url=f"file://{tmp_path}/objects",
        agent_id="a1", data_dir=tmp_path, lease_ttl_ms=5_000, max_flushes_per_second=50.0,
        broker=BrokerOptions(group_initial_rebalance_delay_ms=0),
    ))
    b = await runtime.open("localhost", 9092, StubPeers())
    try:
        yield b
    finally:
        await runtime.hand_over()
        await runtime.close()


async def fill(b: Broker, topic: str, per_partition: list[int], *, seed: int = 7
               ) -> dict[tuple[int, int], int]:
    """Records in batches of up to 7, with timestamps out of order within and across
    partitions; returns {(partition, offset): timestamp}."""
    rnd = random.Random(seed)
    await b.topics.create(CTX, topic, len(per_partition), {})
    stamps: dict[tuple[int, int], int] = {}
    for p, n in enumerate(per_partition):
        offset = 0
        while offset < n:
            size = min(n - offset, rnd.randint(1, 7))
            rows = []
            for i in range(size):
                ts = T0 + rnd.randint(0, 500)
                stamps[(p, offset + i)] = ts
                headers = [("kind", b"odd" if (offset + i) % 2 else b"even")]
                rows.append((f"k{p}-{offset + i}".encode(), f"value {p}/{offset + i}".encode(),
                             headers, ts))
            result = await b.produce.produce(CTX, [(topic, [(p, build_batch(rows))])], acks=-1,
                                             timeout_s=30)
            assert result.first_error() is None
            offset += size
    return stamps


def seen(page) -> list[tuple[int, int]]:
    return [(p, r.offset) for p, r in page.records]


async def test_paging_forward_then_back_visits_every_record_once(broker: Broker) -> None:
    stamps = await fill(broker, "t", [23, 0, 41])
    got: list[tuple[int, int]] = []
    page = await broker.fetch.browse(CTX, "t", limit=10)
    pages = [page]
    while True:
        got.extend(seen(page))
        for p, r in page.records:
            assert r.timestamp == stamps[(p, r.offset)]
        if not page.has_newer:
            break
        page = await broker.fetch.browse(CTX, "t", start=page.after, limit=10)
        pages.append(page)
    assert sorted(got) == sorted(stamps) and len(got) == len(stamps)  # each exactly once
    for p in (0, 2):  # each page takes the next offsets of a partition, in offset order
        per_page = [sorted(o for q, o in seen(x) if q == p) for x in pages]
        flat = [o for offsets in per_page for o in offsets]
        assert flat == sorted(o for q, o in stamps if q == p)
    assert len(pages) >= 7 and all(len(x.records) <= 10 for x in pages)
    # Back from the last page to the start: exactly the records of the pages before it,
    # none twice (the pages may cut differently: each end merges by its own timestamps).
    back, older = pages[-1], []
    while back.has_older:
        back = await broker.fetch.browse(CTX, "t", start=back.before, forward=False, limit=10)
        older.extend(seen(back))
    earlier = [k for x in pages[:-1] for k in seen(x)]
    assert sorted(older) == sorted(earlier) and len(set(older)) == len(older)
    # The same cursor, the same page.
    again = await broker.fetch.browse(CTX, "t", start=pages[2].before, forward=False, limit=10)
    assert seen(again) == seen(await broker.fetch.browse(CTX, "t", start=pages[2].before,
                                                           forward=False, limit=10))
    # Within a page the records are by timestamp (then partition).
    for x in pages:
        keys = [(r.timestamp, p) for p, r in x.records]
        assert keys == sorted(keys)


async def test_latest_is_the_newest_page_and_backward_reaches_the_start(broker: Broker) -> None:
    stamps = await fill(broker, "t", [30, 30])
    page = await broker.fetch.browse(CTX, "t", position="latest", limit=8)
    assert len(page.records) == 8 and not page.has_newer
    assert page.after == {0: 30, 1: 30}
    got = seen(page)
    while page.has_older:
        page = await broker.fetch.browse(CTX, "t", start=page.before, forward=False, limit=8)
        got.extend(seen(page))
    assert sorted(got) == sorted(stamps) and len(got) == len(stamps)


async def test_offset_and_timestamp_positions(broker: Broker) -> None:
    stamps = await fill(broker, "t", [20, 20])
    page = await broker.fetch.browse(CTX, "t", position="offset", offset=15, limit=100)
    assert sorted(seen(page)) == [(p, o) for p in (0, 1) for o in range(15, 20)]
    page = await broker.fetch.browse(CTX, "t", partitions=[1], position="offset", offset=99,
                                     limit=10)
    assert page.records == [] and page.after == {1: 20}  # clamped to the end
    cut = T0 + 250
    page = await broker.fetch.browse(CTX, "t", position="timestamp", timestamp=cut, limit=100)
    # Kafka's rule per partition: from the first record at or after the time, onwards.
    for p in (0, 1):
        first = min(o for (q, o), ts in stamps.items() if q == p and ts >= cut)
        assert sorted(o for q, o in seen(page) if q == p) == list(range(first, 20))


async def test_filters_scan_past_what_does_not_match(broker: Broker) -> None:
    await fill(broker, "t", [50, 50])
    where = RecordFilter.parse(key="k1-", header="kind=odd")
    page = await broker.fetch.browse(CTX, "t", limit=10, where=where)
    assert {p for p, _ in seen(page)} == {1}
    assert all(r.offset % 2 == 1 for _p, r in page.records) and len(page.records) == 10
    rest = await broker.fetch.browse(CTX, "t", start=page.after, limit=100, where=where)
    assert len(page.records) + len(rest.records) == 25 and not rest.has_newer
    none = await broker.fetch.browse(CTX, "t", limit=10,
                                     where=RecordFilter.parse(value="no such text"))
    assert none.records == [] and none.after == {0: 50, 1: 50} and none.scanned == 100
    small = await broker.fetch.browse(CTX, "t", limit=10, max_scan=20,
                                      where=RecordFilter.parse(value="no such text"))
    assert small.records == [] and small.after == {0: 10, 1: 10}  # go on from there
    by_time = await broker.fetch.browse(
        CTX, "t", limit=500, where=RecordFilter(since=T0 + 100, until=T0 + 200))
    assert by_time.records and all(T0 + 100 <= r.timestamp <= T0 + 200
                                   for _p, r in by_time.records)


async def test_bad_requests_are_refused_with_a_reason(broker: Broker) -> None:
    await fill(broker, "t", [3])
    with pytest.raises(errors.UnknownPartition):
        await broker.fetch.browse(CTX, "t", partitions=[4])
    with pytest.raises(errors.UnknownTopicOrPartition):
        await broker.fetch.browse(CTX, "nope")
    for bad in ("0", "a:1", "0:-1", "0:1,x"):
        with pytest.raises(errors.InvalidRequest):
            parse_cursor(bad)
    with pytest.raises(errors.InvalidRequest):
        RecordFilter.parse(since=5, until=4)
    with pytest.raises(errors.InvalidRequest):
        RecordFilter.parse(header="=x")
    assert parse_cursor(format_cursor({2: 5, 0: 1})) == {0: 1, 2: 5}
