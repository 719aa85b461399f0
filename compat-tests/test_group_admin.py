"""Consumer-group administration with confluent-kafka's AdminClient and kafka-python's KafkaAdminClient.

Broker APIs covered: ListGroups (with and without a state filter),
DescribeGroups, DeleteGroups, OffsetCommit outside a generation
(alter/reset offsets), OffsetFetch, OffsetDelete, ListOffsets by time.

Each client gets two tests:

* an *active* group (two members of that same client, from
  test_groups_<client>.py's driver): listed and described as Stable with its
  members, client ids, hosts and assignments; deleting it is refused with
  NON_EMPTY_GROUP (68); altering its offsets from outside is refused; then the
  members leave, it is described as Empty, and deleting it succeeds;
* an *Empty* group with committed offsets: offsets altered/reset to a given
  offset, earliest, latest and a timestamp, checked with OffsetFetch and by
  consuming from them.

The topic has 6 partitions with 10 records each; record ``i`` is in
partition ``i % 6`` at offset ``i // 6`` with timestamp ``BASE + i s``.
"""

from __future__ import annotations

import time

import group_scenarios as gs
import pytest
import test_groups_confluent_kafka
import test_groups_kafka_python
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

N = gs.N_PARTITIONS
PER_PARTITION = 10
STEP_MS = 1000


@pytest.fixture
def data(bootstrap, tmp_path, request):
    """A topic with 60 timestamped records; yields (topic, base_ts, GroupTest factory)."""
    base = (int(time.time()) - 3600) * 1000
    made: list[gs.GroupTest] = []

    def group_test(client) -> gs.GroupTest:
        g = gs.GroupTest(bootstrap, client, request.node.name, tmp_path)
        made.append(g)
        return g

    g0 = group_test(gs.PythonClient("admin", test_groups_confluent_kafka.Driver))
    topic = g0.topic()
    n = N * PER_PARTITION
    gs.produce(bootstrap, topic, n, tag="admin", timestamps=[base + i * STEP_MS for i in range(n)])
    try:
        yield topic, base, group_test
    finally:
        for g in made:
            g.close_all()


def first_offset_at_or_after(base: int, ts: int) -> dict[int, int]:
    """Per partition, the first offset whose timestamp is >= ts (ListOffsets by time)."""
    out = {}
    for p in range(N):
        k = 0
        while k < PER_PARTITION and base + (k * N + p) * STEP_MS < ts:
            k += 1
        out[p] = k
    return out


def consume_first_offsets(g: gs.GroupTest, topic: str, group: str) -> dict[int, int]:
    """Join ``group`` with one member and return the first offset it consumed per partition."""
    m = g.start(f"check-{len(g.members)}", topic, group, commit=False)
    gs.wait_until(
        lambda: len(m.first_offsets()) == N,
        gs.JOIN_TIMEOUT_S,
        f"a record from every partition for group {group}",
        g.state,
    )
    m.close()
    return m.first_offsets()


def two_members(g: gs.GroupTest, topic: str, group: str) -> list[gs.Member]:
    members = [g.start(f"m{i}", topic, group, client_id=f"compat-admin-m{i}") for i in range(2)]
    gs.wait_stable(g, members)
    gs.wait_until(
        lambda: len(g.tracker.snapshot()) == N * PER_PARTITION,
        gs.CONSUME_TIMEOUT_S,
        "the two members to consume all 60 records",
        g.state,
    )
    return members


# ---------------------------------------------------------------------------
# confluent-kafka AdminClient


def cadmin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "client.id": "compat-group-admin"})


def c_describe(admin: AdminClient, group: str):
    return admin.describe_consumer_groups([group], request_timeout=15)[group].result(timeout=20)


def c_listing(admin: AdminClient, group: str, **kw):
    res = admin.list_consumer_groups(request_timeout=15, **kw).result(timeout=20)
    assert not res.errors, f"ListGroups errors: {res.errors}"
    return {x.group_id: x for x in res.valid}.get(group)


def c_committed(admin: AdminClient, group: str, topic: str) -> dict[int, int | None]:
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(N)])]
    res = admin.list_consumer_group_offsets(req, request_timeout=15)[group].result(timeout=20)
    out = {}
    for tp in res.topic_partitions:
        assert tp.error is None, f"OffsetFetch {group} p{tp.partition}: {tp.error}"
        out[tp.partition] = tp.offset if tp.offset >= 0 else None
    return out


def c_alter(admin: AdminClient, group: str, topic: str, offsets: dict[int, int]):
    req = [
        ConsumerGroupTopicPartitions(
            group, [TopicPartition(topic, p, o) for p, o in offsets.items()]
        )
    ]
    res = admin.alter_consumer_group_offsets(req, request_timeout=15)[group].result(timeout=20)
    errs = {tp.partition: tp.error for tp in res.topic_partitions if tp.error is not None}
    assert not errs, f"alter offsets of {group}: {errs}"


def c_list_offsets(admin: AdminClient, topic: str, spec: OffsetSpec) -> dict[int, int]:
    futs = admin.list_offsets(
        {TopicPartition(topic, p): spec for p in range(N)}, request_timeout=15
    )
    return {tp.partition: f.result(timeout=20).offset for tp, f in futs.items()}


def wait_state(describe, want: str, timeout: float = 10.0):
    """Describe until the group reports ``want`` (a leave is processed asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        d = describe()
        if _state_name(d) == want or time.monotonic() > deadline:
            return d
        time.sleep(0.2)


def _state_name(d) -> str:
    state = d["group_state"] if isinstance(d, dict) else d.state
    return state.name if hasattr(state, "name") else str(state)


def test_confluent_active_group_list_describe_delete(bootstrap, data):
    topic, _base, group_test = data
    g = group_test(gs.PythonClient("confluent-admin", test_groups_confluent_kafka.Driver))
    group = g.group()
    members = two_members(g, topic, group)
    admin = cadmin(bootstrap)

    listing = c_listing(admin, group)
    assert listing is not None, f"{group} not in ListGroups"
    assert not listing.is_simple_consumer_group
    assert listing.state == ConsumerGroupState.STABLE, (
        f"ListGroups state {listing.state} (ListGroups v4+ carries the state)"
    )
    stable = c_listing(admin, group, states={ConsumerGroupState.STABLE})
    assert stable is not None, "ListGroups with states=[Stable] misses a Stable group"
    assert c_listing(admin, group, states={ConsumerGroupState.EMPTY}) is None, (
        "ListGroups with states=[Empty] lists a Stable group"
    )

    d = c_describe(admin, group)
    assert d.group_id == group
    assert d.state == ConsumerGroupState.STABLE, d.state
    assert not d.is_simple_consumer_group
    assert d.partition_assignor in ("range", "roundrobin"), d.partition_assignor
    assert len(d.members) == 2, d.members
    assert sorted(m.client_id for m in d.members) == ["compat-admin-m0", "compat-admin-m1"]
    for m in d.members:
        assert m.member_id, m
        assert "127.0.0.1" in m.host, f"member host {m.host!r}"
    described = {
        m.client_id: sorted(
            tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic
        )
        for m in d.members
    }
    owned = {m.spec.client_id: sorted(m.owned) for m in members}
    assert described == owned, f"DescribeGroups assignments {described}, members own {owned}"

    # A live group is neither deletable nor alterable from outside.
    with pytest.raises(KafkaException) as ei:
        admin.delete_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, ei.value
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0)])]
    try:
        res = admin.alter_consumer_group_offsets(req, request_timeout=15)[group].result(timeout=20)
        refused = [tp.error for tp in res.topic_partitions if tp.error is not None]
    except KafkaException as e:
        refused = [e]
    assert refused, "OffsetCommit from outside (generation -1) accepted for a Stable group"

    for m in members:
        m.close()
    d = wait_state(lambda: c_describe(admin, group), "EMPTY")
    assert d.state == ConsumerGroupState.EMPTY and not d.members, (d.state, d.members)
    listing = c_listing(admin, group)
    assert listing is not None and listing.state == ConsumerGroupState.EMPTY, listing
    assert c_committed(admin, group, topic) == {p: PER_PARTITION for p in range(N)}

    admin.delete_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
    assert c_listing(admin, group) is None, "deleted group still listed"
    assert c_committed(admin, group, topic) == {p: None for p in range(N)}, "offsets survived"
    # Kafka describes an unknown group as Dead (newer coordinators: GROUP_ID_NOT_FOUND).
    try:
        d = c_describe(admin, group)
    except KafkaException as e:
        assert e.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, e
    else:
        assert d.state == ConsumerGroupState.DEAD and not d.members, (d.state, d.members)


def test_confluent_alter_offsets_of_empty_group(bootstrap, data):
    topic, base, group_test = data
    g = group_test(gs.PythonClient("confluent-admin", test_groups_confluent_kafka.Driver))
    group = g.group()
    admin = cadmin(bootstrap)
    # Never joined: committing from outside creates an Empty group.
    given = {p: p + 2 for p in range(N)}
    c_alter(admin, group, topic, given)
    assert c_committed(admin, group, topic) == given
    assert _state_name(c_describe(admin, group)) == "EMPTY"
    assert consume_first_offsets(g, topic, group) == given

    earliest = c_list_offsets(admin, topic, OffsetSpec.earliest())
    assert earliest == {p: 0 for p in range(N)}, earliest
    c_alter(admin, group, topic, earliest)
    assert c_committed(admin, group, topic) == earliest

    latest = c_list_offsets(admin, topic, OffsetSpec.latest())
    assert latest == {p: PER_PARTITION for p in range(N)}, latest
    c_alter(admin, group, topic, latest)
    assert c_committed(admin, group, topic) == latest

    ts = base + 27 * STEP_MS + STEP_MS // 2
    by_time = c_list_offsets(admin, topic, OffsetSpec.for_timestamp(ts))
    assert by_time == first_offset_at_or_after(base, ts), by_time
    c_alter(admin, group, topic, by_time)
    assert c_committed(admin, group, topic) == by_time
    assert consume_first_offsets(g, topic, group) == by_time
    gs.assert_no_fatal_errors(g)


# ---------------------------------------------------------------------------
# kafka-python KafkaAdminClient


@pytest.fixture
def kadmin(bootstrap):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-group-admin")
    try:
        yield admin
    finally:
        admin.close()


def k_committed(kadmin, group: str, topic: str) -> dict[int, int | None]:
    res = kadmin.list_group_offsets({group: None})[group]
    return {
        tp.partition: (om.offset if om.offset >= 0 else None)
        for tp, om in res.items()
        if tp.topic == topic
    }


def test_kafka_python_active_group_list_describe_delete(bootstrap, data, kadmin):
    from kafka import TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata

    topic, _base, group_test = data
    g = group_test(gs.PythonClient("kafka-python-admin", test_groups_kafka_python.Driver))
    group = g.group()
    members = two_members(g, topic, group)

    listed = {x["group_id"]: x for x in kadmin.list_groups()}
    assert group in listed, f"{group} not in ListGroups: {sorted(listed)}"
    assert listed[group].get("protocol_type") == "consumer", listed[group]
    stable = {x["group_id"] for x in kadmin.list_groups(states_filter=["Stable"])}
    assert group in stable, "ListGroups states_filter=[Stable] misses a Stable group"

    d = kadmin.describe_groups([group])[group]
    assert d["error"] is None, d
    assert d["group_state"] == "Stable", d
    assert d["protocol_type"] == "consumer", d
    assert d["protocol_data"] in ("range", "roundrobin"), d
    assert sorted(m["client_id"] for m in d["members"]) == ["compat-admin-m0", "compat-admin-m1"]
    described = {}
    for m in d["members"]:
        assert m["member_id"], m
        assert "127.0.0.1" in m["client_host"], f"member host {m['client_host']!r}"
        described[m["client_id"]] = sorted(_assigned_partitions(m["member_assignment"], topic))
        assert topic in _subscribed_topics(m["member_metadata"]), m["member_metadata"]
    owned = {m.spec.client_id: sorted(m.owned) for m in members}
    assert described == owned, f"DescribeGroups assignments {described}, members own {owned}"

    assert kadmin.delete_groups([group]) == {group: "NonEmptyGroupError"}
    res = kadmin.alter_group_offsets(group, {KTP(topic, 0): OffsetAndMetadata(0, "", -1)})
    assert res[KTP(topic, 0)].__name__ != "NoError", (
        "outside OffsetCommit accepted for a Stable group"
    )
    # OffsetDelete on a topic the live group consumes: GROUP_SUBSCRIBED_TO_TOPIC (86).
    res = kadmin.delete_group_offsets(group, [KTP(topic, 0)])
    assert {tp.partition: e.__name__ for tp, e in res.items()} == {0: "GroupSubscribedToTopicError"}

    for m in members:
        m.close()
    d = wait_state(lambda: kadmin.describe_groups([group])[group], "Empty")
    assert d["group_state"] == "Empty" and not d["members"], d
    assert k_committed(kadmin, group, topic) == {p: PER_PARTITION for p in range(N)}
    assert group in {x["group_id"] for x in kadmin.list_groups(states_filter=["Empty"])}

    # OffsetDelete on an Empty group works.
    res = kadmin.delete_group_offsets(group, [KTP(topic, 0), KTP(topic, 1)])
    assert {tp.partition: e.__name__ for tp, e in res.items()} == {0: "NoError", 1: "NoError"}
    left = k_committed(kadmin, group, topic)
    assert left == {p: PER_PARTITION for p in range(2, N)}, left

    assert kadmin.delete_groups([group]) == {group: "OK"}
    assert group not in {x["group_id"] for x in kadmin.list_groups()}
    assert k_committed(kadmin, group, topic) == {}
    assert kadmin.delete_groups([group]) == {group: "GroupIdNotFoundError"}


def _assigned_partitions(assignment, topic: str) -> list[int]:
    """Partitions of ``topic`` in a decoded ConsumerProtocolAssignment (object or dict)."""
    if hasattr(assignment, "assigned_partitions"):
        return [tp.partition for tp in assignment.assigned_partitions() if tp.topic == topic]
    tps = assignment.get("assigned_partitions") or assignment.get("partitions") or []
    out = []
    for t in tps:
        name = t.get("topic")
        if name == topic:
            out.extend(t.get("partitions", []))
    return out


def _subscribed_topics(metadata) -> list[str]:
    if hasattr(metadata, "topics"):
        return list(metadata.topics)
    return list(metadata.get("topics", []))


def test_kafka_python_reset_offsets_of_empty_group(bootstrap, data, kadmin):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    from kafka.admin import OffsetSpec as KSpec
    from kafka.admin import OffsetTimestamp
    from kafka.structs import OffsetAndMetadata

    topic, base, group_test = data
    g = group_test(gs.PythonClient("kafka-python-admin", test_groups_kafka_python.Driver))
    group = g.group()
    tps = [KTP(topic, p) for p in range(N)]

    given = {p: p + 2 for p in range(N)}
    res = kadmin.alter_group_offsets(
        group, {KTP(topic, p): OffsetAndMetadata(o, "", -1) for p, o in given.items()}
    )
    assert {tp.partition: e.__name__ for tp, e in res.items()} == {p: "NoError" for p in range(N)}
    assert k_committed(kadmin, group, topic) == given
    assert kadmin.describe_groups([group])[group]["group_state"] == "Empty"
    assert consume_first_offsets(g, topic, group) == given

    def reset(spec) -> dict[int, int]:
        out = kadmin.reset_group_offsets(group, {tp: spec for tp in tps})
        errs = {
            tp.partition: r["error"].__name__
            for tp, r in out.items()
            if r["error"].__name__ != "NoError"
        }
        assert not errs, f"reset_group_offsets({spec}): {errs}"
        return {tp.partition: r["offset"] for tp, r in out.items()}

    assert reset(KSpec.EARLIEST) == {p: 0 for p in range(N)}
    assert k_committed(kadmin, group, topic) == {p: 0 for p in range(N)}
    assert reset(KSpec.LATEST) == {p: PER_PARTITION for p in range(N)}
    assert k_committed(kadmin, group, topic) == {p: PER_PARTITION for p in range(N)}
    assert reset(4) == {p: 4 for p in range(N)}
    assert k_committed(kadmin, group, topic) == {p: 4 for p in range(N)}

    ts = base + 27 * STEP_MS + STEP_MS // 2
    want = first_offset_at_or_after(base, ts)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        by_time = {
            tp.partition: ot.offset
            for tp, ot in consumer.offsets_for_times({tp: ts for tp in tps}).items()
        }
    finally:
        consumer.close()
    assert by_time == want, f"offsets_for_times({ts}) = {by_time}, want {want}"
    assert reset(OffsetTimestamp(ts)) == want
    assert k_committed(kadmin, group, topic) == want
    assert consume_first_offsets(g, topic, group) == want
    gs.assert_no_fatal_errors(g)
