"""The catalogue contract, run against SQLite and PostgreSQL alike."""

import pytest

from coordinator.catalogue import (
    AgentId,
    Chunk,
    FlushCommit,
    InvalidPartitions,
    OrgId,
    ProducerState,
    TopicExists,
    UnknownTopic,
)

A = AgentId("agent-a")
B = AgentId("agent-b")


async def test_topics(catalogue):
    t = await catalogue.create_topic("orders", 3, {"retention.ms": "1000"})
    assert (await catalogue.get_topic("orders")) == t
    assert (await catalogue.get_topic_by_id(t.id)) == t
    with pytest.raises(TopicExists):
        await catalogue.create_topic("orders", 1)
    assert [p.partition for p in await catalogue.list_partitions(t.id)] == [0, 1, 2]
    t2 = await catalogue.set_partition_count("orders", 5)
    assert t2.partition_count == 5
    assert len(await catalogue.list_partitions(t.id)) == 5
    with pytest.raises(InvalidPartitions):
        await catalogue.set_partition_count("orders", 2)
    t3 = await catalogue.set_topic_config("orders", {"retention.ms": "5"})
    assert (await catalogue.get_topic("orders")).config == {"retention.ms": "5"} == t3.config
    assert [x.name for x in await catalogue.list_topics()] == ["orders"]
    await catalogue.delete_topic("orders")
    assert await catalogue.get_topic("orders") is None
    with pytest.raises(UnknownTopic):
        await catalogue.delete_topic("orders")


async def test_leases_and_epochs(catalogue):
    t = await catalogue.create_topic("t", 1)
    first = await catalogue.acquire_lease(A, t.id, 0, 60_000)
    assert first is not None and first.leader_epoch == 1
    again = await catalogue.acquire_lease(A, t.id, 0, 60_000)
    assert again.leader_epoch == 1
    assert await catalogue.acquire_lease(B, t.id, 0, 60_000) is None
    await catalogue.release_lease(A, t.id, 0)
    taken = await catalogue.acquire_lease(B, t.id, 0, 60_000)
    assert taken is not None and taken.leader_epoch == 2
    # An expired lease may be taken over.
    await catalogue.acquire_lease(B, t.id, 0, -1)
    assert (await catalogue.acquire_lease(A, t.id, 0, 60_000)).leader_epoch == 3


def chunk(t, p, base, last, key="obj", start=0):
    return Chunk(
        topic_id=t.id,
        partition=p,
        base_offset=base,
        last_offset=last,
        object_key=key,
        byte_start=start,
        byte_length=100,
        first_timestamp=10,
        max_timestamp=20,
        record_count=last - base + 1,
    )


async def test_commit_fences_stale_epochs(catalogue):
    t = await catalogue.create_topic("t", 2)
    await catalogue.acquire_lease(A, t.id, 0, 60_000)
    await catalogue.acquire_lease(A, t.id, 1, 60_000)
    commit = FlushCommit(
        agent_id=A,
        object_key="o1",
        org_id=OrgId("default"),
        object_size=200,
        chunks=[chunk(t, 0, 0, 9, "o1"), chunk(t, 1, 0, 4, "o1", 100)],
        epochs={(t.id, 0): 1, (t.id, 1): 0},  # partition 1 written under a stale epoch
        producer_states=[
            ProducerState(
                topic_id=t.id,
                partition=0,
                producer_id=5,
                producer_epoch=0,
                first_sequence=5,
                last_sequence=9,
                base_offset=5,
                last_offset=9,
                earlier=((0, 4, 0, 4),),
            )
        ],
    )
    fenced = await catalogue.commit_flush(commit)
    assert fenced == {(t.id, 1)}
    parts = await catalogue.list_partitions(t.id)
    assert parts[0].high_watermark == 10 and parts[1].high_watermark == 0
    assert [c.base_offset for c in await catalogue.list_chunks(t.id, 0)] == [0]
    assert await catalogue.list_chunks(t.id, 1) == []
    [state] = await catalogue.load_producer_states(t.id, 0)
    assert state.last_sequence == 9 and state.earlier == ((0, 4, 0, 4),)


async def test_retention_truncation_and_orphans(catalogue):
    t = await catalogue.create_topic("t", 1)
    await catalogue.acquire_lease(A, t.id, 0, 60_000)
    for i, key in enumerate(["o1", "o2", "o3"]):
        await catalogue.commit_flush(
            FlushCommit(
                agent_id=A,
                object_key=key,
                org_id=OrgId("default"),
                object_size=100,
                chunks=[chunk(t, 0, i * 10, i * 10 + 9, key)],
                epochs={(t.id, 0): 1},
            )
        )
    orphaned = await catalogue.truncate_before(t.id, 0, 20)
    assert orphaned == ["o1", "o2"]
    [p] = await catalogue.list_partitions(t.id)
    assert p.log_start_offset == 20 and p.high_watermark == 30
    assert [c.object_key for c in await catalogue.list_chunks(t.id, 0)] == ["o3"]
    assert sorted(await catalogue.orphaned_objects()) == ["o1", "o2"]
    await catalogue.forget_objects(["o1", "o2"])
    assert await catalogue.orphaned_objects() == []


async def test_producer_ids_are_unique(catalogue):
    ids = [await catalogue.allocate_producer_id() for _ in range(5)]
    assert len(set(ids)) == 5


async def test_agents(catalogue):
    a = await catalogue.register_agent(A, "h1", 9092)
    b = await catalogue.register_agent(B, "h2", 9093, rack="z1")
    assert a.broker_id != b.broker_id
    again = await catalogue.register_agent(A, "h1b", 9094)
    assert again.broker_id == a.broker_id
    agents = {x.id: x for x in await catalogue.list_agents()}
    assert agents[A].host == "h1b" and agents[B].rack == "z1"


async def test_migrations_are_idempotent(catalogue):
    from coordinator.sql import migrate

    assert await migrate(catalogue.driver) == []


async def test_group_offsets_and_lag(catalogue):
    from coordinator.lag import group_lag, total_lag
    from coordinator.offsets import CommittedOffset

    t = await catalogue.create_topic("lagged", 2)
    await catalogue.acquire_lease(A, t.id, 0, 60_000)
    await catalogue.acquire_lease(A, t.id, 1, 60_000)
    await catalogue.commit_flush(
        FlushCommit(
            agent_id=A,
            object_key="o",
            org_id=OrgId("default"),
            object_size=1,
            chunks=[chunk(t, 0, 0, 99, "o"), chunk(t, 1, 0, 9, "o", 100)],
            epochs={(t.id, 0): 1, (t.id, 1): 1},
        )
    )
    await catalogue.offsets.commit(
        "g1",
        [
            CommittedOffset(
                group_id="g1",
                topic="lagged",
                partition=0,
                offset=40,
                leader_epoch=3,
                metadata="m",
                commit_time=5,
            )
        ],
    )
    lag = {p.partition: p for p in await group_lag(catalogue, "g1")}
    assert (lag[0].committed_offset, lag[0].high_watermark, lag[0].lag) == (40, 100, 60)
    assert (lag[1].committed_offset, lag[1].lag) == (-1, 10)
    assert await total_lag(catalogue, "g1") == 70
    assert [g for g, _ in await catalogue.offsets.list_groups()] == ["g1"]
    [o] = await catalogue.offsets.fetch("g1")
    assert (o.offset, o.leader_epoch, o.metadata) == (40, 3, "m")
    await catalogue.offsets.delete_offsets("g1", "lagged", [0])
    assert await catalogue.offsets.fetch("g1") == []
    await catalogue.delete_topic("lagged")
    assert await group_lag(catalogue, "g1") == []


class _CountingSession:
    def __init__(self, tx, counter):
        self._tx = tx
        self._counter = counter
        self.dialect = tx.dialect

    def __getattr__(self, name):
        target = getattr(self._tx, name)
        if name not in ("execute", "executemany", "fetch", "fetchrow"):
            return target

        async def counted(*args, **kwargs):
            self._counter.append(name)
            return await target(*args, **kwargs)

        return counted


async def _flush_statements(catalogue, monkeypatch, partitions: int, name: str) -> int:
    import contextlib

    t = await catalogue.create_topic(name, partitions, leader=A, lease_ttl_ms=60_000)
    epochs = {(t.id, p): 1 for p in range(partitions)}
    commit = FlushCommit(agent_id=A, object_key=f"o-{name}", org_id=OrgId("default"),
                         object_size=100 * partitions,
                         chunks=[chunk(t, p, 0, 0, key=f"o-{name}", start=100 * p)
                                 for p in range(partitions)],
                         epochs=epochs)
    statements: list[str] = []
    original = catalogue.driver.transaction

    @contextlib.asynccontextmanager
    async def counting():
        async with original() as tx:
            yield _CountingSession(tx, statements)

    with monkeypatch.context() as m:
        m.setattr(catalogue.driver, "transaction", counting)
        assert await catalogue.commit_flushes([commit]) == set()
    assert [p.high_watermark for p in await catalogue.list_partitions(t.id)] == [1] * partitions
    return len(statements)


async def test_a_flush_commit_is_a_constant_number_of_statements(catalogue, monkeypatch):
    """Fencing check, object, chunks, high watermarks: the same statements for 5 partitions
    or 500 (bulk reads and batched inserts, not three statements per partition)."""
    few = await _flush_statements(catalogue, monkeypatch, 5, "few")
    many = await _flush_statements(catalogue, monkeypatch, 500, "many")
    assert few == many <= 5, (few, many)
