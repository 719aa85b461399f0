"""The consumer-group state machine, without a network: KAFKA-NOTES pitfall 14 and friends."""

import asyncio

import pytest

from coordinator.catalogue import Catalogue
from coordinator.groups import COMPLETING, EMPTY, PREPARING, STABLE, GroupCoordinator
from coordinator.offsets import CommittedOffset

PROTOCOLS = [("range", b"meta-range"), ("roundrobin", b"meta-rr")]


@pytest.fixture
async def coord():
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    c = GroupCoordinator(cat.offsets, initial_rebalance_delay_ms=50)
    c.start()
    yield c
    await c.stop()
    await cat.close()


async def join(
    coord,
    member_id="",
    *,
    group="g",
    instance=None,
    protocols=PROTOCOLS,
    session_ms=10_000,
    rebalance_ms=2_000,
    v4=True,
):
    result = await coord.join(
        group,
        member_id,
        group_instance_id=instance,
        protocol_type="consumer",
        protocols=protocols,
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=rebalance_ms,
        client_id="c",
        client_host="/127.0.0.1",
        require_known_member_id=v4,
    )
    if result.error == "member_id_required":
        assert v4 and not member_id
        return await join(
            coord,
            result.member_id,
            group=group,
            instance=instance,
            protocols=protocols,
            session_ms=session_ms,
            rebalance_ms=rebalance_ms,
        )
    return result


async def test_lone_member_joins_and_syncs(coord):
    first = await coord.join(
        "g",
        "",
        group_instance_id=None,
        protocol_type="consumer",
        protocols=PROTOCOLS,
        session_timeout_ms=10_000,
        rebalance_timeout_ms=1_000,
        client_id="c",
        client_host="h",
        require_known_member_id=True,
    )
    assert first.error == "member_id_required" and first.member_id
    joined = await join(coord, first.member_id)
    assert joined.error == "none" and joined.generation_id == 1
    assert joined.leader == joined.member_id == first.member_id
    assert joined.protocol_name == "range"
    assert joined.members == [(joined.member_id, None, b"meta-range")]
    synced = await coord.sync("g", 1, joined.member_id, None, {joined.member_id: b"assign"})
    assert synced.error == "none" and synced.assignment == b"assign"
    assert coord.state_of("g") == STABLE


async def test_members_joining_together_make_one_generation(coord):
    results = await asyncio.gather(*(join(coord) for _ in range(3)))
    assert {r.generation_id for r in results} == {1}
    leaders = [r for r in results if r.member_id == r.leader]
    assert len(leaders) == 1 and len(leaders[0].members) == 3
    assert all(r.members == [] for r in results if r is not leaders[0])


async def test_followers_sync_waits_for_the_leader(coord):
    a, b = await asyncio.gather(join(coord), join(coord))
    leader, follower = (a, b) if a.member_id == a.leader else (b, a)
    waiting = asyncio.create_task(coord.sync("g", 1, follower.member_id, None, {}))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert coord.state_of("g") == COMPLETING
    await coord.sync(
        "g", 1, leader.member_id, None, {leader.member_id: b"L", follower.member_id: b"F"}
    )
    assert (await waiting).assignment == b"F"


async def test_a_join_during_stable_triggers_a_rebalance_and_the_generation_moves_at_its_end(coord):
    a = await join(coord)
    await coord.sync("g", 1, a.member_id, None, {a.member_id: b"x"})
    newcomer = asyncio.create_task(join(coord))
    await asyncio.sleep(0.05)
    assert coord.state_of("g") == PREPARING
    assert coord.heartbeat("g", 1, a.member_id, None) == "rebalance_in_progress"
    assert (await coord.sync("g", 1, a.member_id, None, {})).error == "rebalance_in_progress"
    assert coord.groups["g"].generation_id == 1  # not before the rebalance completes
    again = await join(coord, a.member_id)
    b = await newcomer
    assert again.generation_id == b.generation_id == 2
    assert coord.heartbeat("g", 1, a.member_id, None) == "illegal_generation"


async def test_leave_rebalances_the_rest(coord):
    a, b = await asyncio.gather(join(coord), join(coord))
    leader = a if a.member_id == a.leader else b
    other = b if leader is a else a
    await asyncio.gather(
        coord.sync("g", 1, leader.member_id, None, {}),
        coord.sync("g", 1, other.member_id, None, {}),
    )
    error, per_member = coord.leave("g", [(leader.member_id, None)])
    assert error == "none" and per_member == ["none"]
    assert coord.state_of("g") == PREPARING
    again = await join(coord, other.member_id)
    assert again.generation_id == 2 and again.leader == other.member_id
    assert coord.leave("g", [("nobody", None)])[1] == ["unknown_member_id"]


async def test_an_expired_session_removes_the_member(coord):
    a = await join(coord, session_ms=300)
    await coord.sync("g", 1, a.member_id, None, {})
    await asyncio.sleep(0.8)
    assert coord.groups["g"].members == {}
    assert coord.state_of("g") == EMPTY
    assert coord.heartbeat("g", 1, a.member_id, None) == "unknown_member_id"


async def test_a_member_that_does_not_rejoin_is_dropped_after_the_rebalance_timeout(coord):
    a = await join(coord, rebalance_ms=300)
    await coord.sync("g", 1, a.member_id, None, {})
    b = await join(coord, rebalance_ms=300)  # a never rejoins
    assert b.generation_id == 2 and b.leader == b.member_id
    assert list(coord.groups["g"].members) == [b.member_id]


async def test_static_member_rejoins_without_a_rebalance(coord):
    a, s = await asyncio.gather(join(coord), join(coord, instance="static-1"))
    leader = a if a.member_id == a.leader else s
    await asyncio.gather(
        *(
            coord.sync(
                "g",
                1,
                r.member_id,
                None,
                {a.member_id: b"A", s.member_id: b"S"} if r is leader else {},
            )
            for r in (a, s)
        )
    )
    # The static member restarts: a new JoinGroup without a member id, same instance id.
    back = await join(coord, instance="static-1")
    assert back.error == "none" and back.generation_id == 1
    assert coord.state_of("g") == STABLE
    assert coord.heartbeat("g", 1, a.member_id, None) == "none"
    synced = await coord.sync("g", 1, back.member_id, "static-1", {})
    assert synced.assignment == b"S"
    # The old identity is fenced.
    assert coord.heartbeat("g", 1, s.member_id, "static-1") == "fenced_instance_id"


async def test_commits_and_admin(coord):
    offsets = [
        CommittedOffset(
            group_id="g",
            topic="t",
            partition=0,
            offset=5,
            leader_epoch=-1,
            metadata="m",
            commit_time=1,
        )
    ]
    assert await coord.commit_offsets("g", -1, "", None, offsets) == "none"  # Empty group
    a = await join(coord)
    assert await coord.commit_offsets("g", -1, "", None, offsets) == "unknown_member_id"
    assert await coord.commit_offsets("g", 1, a.member_id, None, offsets) == "rebalance_in_progress"
    await coord.sync("g", 1, a.member_id, None, {})
    assert await coord.commit_offsets("g", 7, a.member_id, None, offsets) == "illegal_generation"
    assert await coord.commit_offsets("g", 1, a.member_id, None, offsets) == "none"
    assert [o.offset for o in await coord.offsets.fetch("g")] == [5]
    assert await coord.delete_group("g") == "non_empty_group"
    assert [g for g, _p, s in await coord.list_groups() if s == STABLE] == ["g"]
    desc = await coord.describe("g")
    assert desc is not None and desc.state == STABLE and desc.members[0].client_id == "c"
    coord.leave("g", [(a.member_id, None)])
    assert coord.state_of("g") == EMPTY
    assert await coord.delete_group("g") == "none"
    assert await coord.offsets.fetch("g") == []
    assert await coord.delete_group("g") == "group_id_not_found"


async def test_inconsistent_protocols_are_refused(coord):
    await join(coord)
    other = await join(coord, protocols=[("sticky", b"")])
    assert other.error == "inconsistent_group_protocol"


async def test_a_join_during_completing_rebalance_sends_waiting_followers_back_to_join(coord):
    """Pitfall 14: a newcomer arriving while followers wait in SyncGroup for the leader's
    assignment: the waiting followers are answered REBALANCE_IN_PROGRESS (they rejoin),
    and the leader's late SyncGroup too; the next generation holds all three."""
    a, b = await asyncio.gather(join(coord), join(coord))
    leader, follower = (a, b) if a.member_id == a.leader else (b, a)
    waiting = asyncio.create_task(coord.sync("g", 1, follower.member_id, None, {}))
    await asyncio.sleep(0.05)
    assert coord.state_of("g") == COMPLETING
    newcomer = asyncio.create_task(join(coord))
    assert (await asyncio.wait_for(waiting, 2)).error == "rebalance_in_progress"
    late = await coord.sync("g", 1, leader.member_id, None, {leader.member_id: b"L"})
    assert late.error in ("rebalance_in_progress", "illegal_generation")
    rejoined = await asyncio.gather(join(coord, leader.member_id), join(coord, follower.member_id))
    c = await newcomer
    assert {r.generation_id for r in (*rejoined, c)} == {2}
    assert len(coord.groups["g"].members) == 3


async def test_a_leave_during_preparing_rebalance_completes_it_without_waiting(coord):
    """A member leaving while the others are being waited for: the rebalance completes as
    soon as every remaining member has joined, not at the rebalance timeout."""
    a, b = await asyncio.gather(join(coord, rebalance_ms=5_000), join(coord, rebalance_ms=5_000))
    await asyncio.gather(coord.sync("g", 1, a.member_id, None, {}),
                         coord.sync("g", 1, b.member_id, None, {}))
    started = asyncio.get_running_loop().time()
    newcomer = asyncio.create_task(join(coord, rebalance_ms=5_000))
    await asyncio.sleep(0.05)
    assert coord.state_of("g") == PREPARING
    rejoin = asyncio.create_task(join(coord, a.member_id, rebalance_ms=5_000))
    await asyncio.sleep(0.05)
    assert coord.leave("g", [(b.member_id, None)])[0] == "none"  # b will never rejoin
    again, c = await asyncio.wait_for(asyncio.gather(rejoin, newcomer), 2)
    assert again.generation_id == c.generation_id == 2
    assert set(coord.groups["g"].members) == {a.member_id, c.member_id}
    assert asyncio.get_running_loop().time() - started < 1.5  # not the 5 s rebalance timeout


async def test_a_session_expiring_during_preparing_rebalance_completes_it(coord):
    a = await join(coord, session_ms=400, rebalance_ms=5_000)
    await coord.sync("g", 1, a.member_id, None, {})
    started = asyncio.get_running_loop().time()
    b = await join(coord, session_ms=10_000, rebalance_ms=5_000)  # a stays silent
    assert b.generation_id == 2 and list(coord.groups["g"].members) == [b.member_id]
    # a was dropped when its 0.4 s session ran out, not at the 5 s rebalance timeout.
    assert asyncio.get_running_loop().time() - started < 2.5


async def test_commits_are_fenced_by_the_coordinator_lease():
    """An agent that lost a group's coordinator lease to another cannot commit its offsets;
    it forgets the group and answers NOT_COORDINATOR (the members move)."""
    cat = Catalogue.from_url("sqlite://:memory:")
    await cat.open()
    try:
        old = GroupCoordinator(cat.offsets, initial_rebalance_delay_ms=0, agent_id="a1")
        old.start()
        lease = await cat.offsets.claim("g", "a1", ttl_ms=60_000)
        assert (lease.agent_id, lease.epoch) == ("a1", 1)
        m = await join(old)
        await old.sync("g", 1, m.member_id, None, {})
        offset = CommittedOffset(group_id="g", topic="t", partition=0, offset=5, leader_epoch=-1,
                                 metadata=None, commit_time=0)
        assert await old.commit_offsets("g", 1, m.member_id, None, [offset]) == "none"
        # a1 is cut off; its lease runs out and a2 claims the group.
        await cat.offsets.release_coordinations("a1")
        taken = await cat.offsets.claim("g", "a2", ttl_ms=60_000)
        assert (taken.agent_id, taken.epoch) == ("a2", 2)
        assert (await cat.offsets.claim("g", "a1", ttl_ms=60_000)).agent_id == "a2"  # held
        late = CommittedOffset(group_id="g", topic="t", partition=0, offset=9, leader_epoch=-1,
                               metadata=None, commit_time=0)
        assert await old.commit_offsets("g", 1, m.member_id, None, [late]) == "not_coordinator"
        assert "g" not in old.groups
        assert [o.offset for o in await cat.offsets.fetch("g")] == [5]
        await old.stop()
    finally:
        await cat.close()


def test_subscription_topics_are_read_from_consumer_protocol_metadata():
    import struct

    from coordinator.consumer_protocol import subscription_topics

    def subscription(topics, user_data=b"", version=0):
        out = struct.pack(">hi", version, len(topics))
        for t in topics:
            out += struct.pack(">h", len(t)) + t.encode()
        return out + struct.pack(">i", len(user_data)) + user_data

    assert subscription_topics(subscription(["orders", "payments"], b"\x01")) == {"orders", "payments"}
    # A topic name inside another's, or in the user data, is not a subscription.
    assert subscription_topics(subscription(["orders-eu"], b"\x00\x06orders", 1)) == {"orders-eu"}
    assert subscription_topics(b"") == set() and subscription_topics(b"\x00") == set()


def test_assignments_are_read_from_consumer_protocol_data():
    import struct

    from coordinator.consumer_protocol import assignment_partitions

    def assignment(topics, user_data=b"", version=0):
        out = struct.pack(">hi", version, len(topics))
        for t, parts in topics.items():
            out += struct.pack(">h", len(t)) + t.encode() + struct.pack(">i", len(parts))
            out += b"".join(struct.pack(">i", p) for p in parts)
        return out + struct.pack(">i", len(user_data)) + user_data

    data = assignment({"orders": [2, 0], "payments": [1]}, b"\x00\x01", 3)
    assert assignment_partitions(data) == {"orders": [0, 2], "payments": [1]}
    assert assignment_partitions(assignment({})) == {}
    # Cut short, or another protocol's bytes: nothing, not an error.
    assert assignment_partitions(data[:9]) == {} and assignment_partitions(b"\xff" * 3) == {}
