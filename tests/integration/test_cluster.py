"""Three agents on one PostgreSQL catalogue and one S3 bucket (moto): leases spread evenly,
and clients keep producing and consuming while an agent stops gracefully or is killed."""

import signal
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from storage.log import TOPICS_POLL_S

TTL_MS = 3000


@pytest.fixture
def cluster(server_factory, tmp_path, pg_url, s3_env):
    agents = []
    for name in ("a1", "a2", "a3"):
        agents.append(server_factory(tmp_path / name, extra=[
            "--catalogue", pg_url, "--objects", f"s3://{s3_env['BUCKET']}/c", "--agent-id", name,
            "--lease-ttl-ms", str(TTL_MS)]).start())
    yield agents
    for a in agents:
        if a.proc is not None and a.proc.poll() is None:
            a.stop()


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return {p.id: p.leader for p in md.topics[topic].partitions.values()}


def wait_for(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not true within {timeout}s")


def test_leases_spread_evenly(cluster):
    boot = cluster[0].bootstrap
    admin = AdminClient({"bootstrap.servers": boot})
    admin.create_topics([NewTopic("spread", 6)])["spread"].result(10)
    md = admin.list_topics(timeout=10)
    assert len(md.brokers) == 3

    def even():
        counts = {}
        for leader in leaders(boot, "spread").values():
            counts[leader] = counts.get(leader, 0) + 1
        return sorted(counts.values()) == [2, 2, 2] and counts

    wait_for(even, timeout=15)


def run_traffic(boot: str, topic: str, stop: threading.Event, acked: list, errors: list) -> None:
    p = Producer({"bootstrap.servers": boot, "enable.idempotence": True, "linger.ms": 5,
                  "message.timeout.ms": 30000})
    i = 0
    while not stop.is_set():
        try:
            p.produce(topic, value=b"%08d" % i,
                      on_delivery=lambda e, m: (errors if e else acked).append(e or m.value()))
            i += 1
        except BufferError:
            pass
        p.poll(0.002)
    p.flush(30)


def run_kafka_python(boot: str, topic: str, stop: threading.Event, acked: list, errors: list) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=boot.split(","), acks="all", linger_ms=5, retries=20,
                      request_timeout_ms=30000)
    i = 0
    while not stop.is_set():
        fut = p.send(topic, value=b"kp-%08d" % i)
        fut.add_callback(lambda md, v=b"kp-%08d" % i: acked.append(v))
        fut.add_errback(lambda exc: errors.append(exc))
        i += 1
        time.sleep(0.002)
    p.flush(30)
    p.close()


def run_consumer(boot: str, topic: str, stop: threading.Event, seen: list) -> None:
    """A group member consuming throughout (its coordinator may be the agent that leaves)."""
    c = Consumer({"bootstrap.servers": boot, "group.id": "riders", "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000})
    c.subscribe([topic])
    while not stop.is_set():
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append((time.monotonic(), m.value()))
    c.close()


def consume_all(boot: str, topic: str, partitions: int) -> list[bytes]:
    c = Consumer({"bootstrap.servers": boot, "group.id": "check", "enable.auto.commit": False})

    def end_of(p: int) -> int:
        # Leadership may be moving as an agent joins (a returning agent takes its share):
        # the client then has no leader for a moment and says "unknown partition".
        deadline = time.monotonic() + 15
        while True:
            try:
                return int(c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1])
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    ends = {p: end_of(p) for p in range(partitions)}
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, pos = [], dict.fromkeys(range(partitions), 0)
    deadline = time.monotonic() + 30
    while any(pos[p] < ends[p] for p in ends) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
            pos[m.partition()] = m.offset() + 1
    c.close()
    return got


@pytest.mark.parametrize("how", ["graceful", "sigkill"])
def test_clients_ride_through_an_agent_leaving(cluster, how):
    boot = ",".join(a.bootstrap for a in cluster[:2])  # the leaving agent is not a bootstrap
    admin = AdminClient({"bootstrap.servers": boot})
    admin.create_topics([NewTopic("ride", 6)])["ride"].result(10)
    wait_for(lambda: len(set(leaders(boot, "ride").values()) - {-1}) == 3, timeout=15)
    stop, acked, errors = threading.Event(), [], []
    kp_acked, kp_errors, seen = [], [], []
    threads = [
        threading.Thread(target=run_traffic, args=(boot, "ride", stop, acked, errors), daemon=True),
        threading.Thread(target=run_kafka_python, args=(boot, "ride", stop, kp_acked, kp_errors),
                         daemon=True),
        threading.Thread(target=run_consumer, args=(boot, "ride", stop, seen), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        leaving = cluster[2]
        before = len(acked)
        watcher = AdminClient({"bootstrap.servers": boot})  # connected already: polls are quick

        def survivors_lead_all() -> bool:
            md = watcher.list_topics("ride", timeout=5)
            lead = {p.leader for p in md.topics["ride"].partitions.values()}
            return -1 not in lead and len(lead) == 2

        survivors_lead_all()
        gone_at = time.monotonic()
        # SIGTERM (a graceful stop: flush, hand the leases back) or SIGKILL (leases expire).
        leaving.proc.send_signal(signal.SIGTERM if how == "graceful" else signal.SIGKILL)
        # Every partition gets a live leader again: within a second after a graceful stop
        # (handoff), within the lease TTL (+ a tick) after SIGKILL.
        budget = 1.0 if how == "graceful" else TTL_MS / 1000 + 4
        wait_for(survivors_lead_all, timeout=budget, step=0.02)
        moved_after = time.monotonic() - gone_at
        assert leaving.proc.wait(30) == (0 if how == "graceful" else -signal.SIGKILL)
        node_ids = {b.id for b in admin.list_topics(timeout=10).brokers.values()}
        time.sleep(3)
    finally:  # the clients stop even when an assertion above fails
        stop.set()
        for t in threads:
            t.join(60)
    assert len(acked) > before > 50 and len(kp_acked) > 50
    assert not errors, f"errors surfaced to the application: {errors[:3]}"
    assert not kp_errors, f"kafka-python saw errors: {kp_errors[:3]}"
    # The group consumer kept receiving after the agent left.
    assert any(t > gone_at + moved_after for t, _v in seen), "consumption did not resume"
    got = consume_all(boot, "ride", 6)
    missing = (set(acked) | set(kp_acked)) - set(got)
    assert not missing, f"{len(missing)} acknowledged records lost"
    idempotent = [v for v in got if not v.startswith(b"kp-")]
    assert len(idempotent) == len(set(idempotent)), "duplicates with an idempotent producer"
    print(f"{how}: partitions moved after {moved_after:.2f}s; {len(acked)} records acked; brokers {node_ids}")


def test_wal_batches_reach_the_new_leader_after_a_crash(server_factory, tmp_path, pg_url, s3_env):
    """acks=1 data still in a crashed agent's WAL is handed to the agent that took over."""
    from kafka import KafkaProducer

    common = ["--catalogue", pg_url, "--objects", f"s3://{s3_env['BUCKET']}/w", "--lease-ttl-ms", str(TTL_MS)]
    # a1 flushes at most every 20 s, so acks=1 data waits in its WAL and buffer.
    a1 = server_factory(tmp_path / "w1", extra=[*common, "--agent-id", "w1",
                                                "--max-flushes-per-second", "0.05",
                                                "--wal-fsync", "always"]).start()
    admin = AdminClient({"bootstrap.servers": a1.bootstrap})
    admin.create_topics([NewTopic("walfwd", 1)])["walfwd"].result(10)
    wait_for(lambda: leaders(a1.bootstrap, "walfwd")[0] != -1, timeout=10)
    kp = KafkaProducer(bootstrap_servers=a1.bootstrap, acks=1, enable_idempotence=False, linger_ms=0)
    kp.send("walfwd", value=b"first").get(10)  # uses the flush budget: the next flush is 20 s away
    acked = [kp.send("walfwd", value=b"wal-%03d" % i).get(10).offset for i in range(20)]
    assert len(acked) == 20
    kp.close()
    a1.kill()  # the 20 records are only in a1's WAL
    a2 = server_factory(tmp_path / "w2", extra=[*common, "--agent-id", "w2"]).start()
    wait_for(lambda: leaders(a2.bootstrap, "walfwd")[0] not in (-1,), timeout=TTL_MS / 1000 + 5)
    kp2 = KafkaProducer(bootstrap_servers=a2.bootstrap, acks="all")
    kp2.send("walfwd", value=b"after-takeover").get(10)
    kp2.close()
    a1.start()  # replays its WAL: a2 leads the partition now, so the batches go to a2
    wait_for(lambda: "wal_entry_forwarded" in a1.log(), timeout=20)
    got = consume_all(a2.bootstrap, "walfwd", 1)
    assert b"after-takeover" in got
    assert all(b"wal-%03d" % i in got for i in range(20)), got
    a1.stop()
    a2.stop()


def find_coordinator(bootstrap: str, group: str) -> int:
    from kio.schema.find_coordinator.v4.request import FindCoordinatorRequest

    from tests.wire import Wire

    w = Wire(bootstrap)
    try:
        resp = w.call(FindCoordinatorRequest, {"key_type": 0, "coordinator_keys": [group]})
        return int(resp.coordinators[0].node_id)
    finally:
        w.close()


def test_one_coordinator_per_group_answers_from_every_agent(cluster):
    """Every agent names the same coordinator (its lease); the others refuse group requests
    with NOT_COORDINATOR, and the REST API gives the coordinator's answer on every agent.
    When the coordinator stops, the group moves and its consumer goes on."""
    import httpx
    from kio.schema.describe_groups.v5.request import DescribeGroupsRequest
    from kio.schema.errors import ErrorCode

    from tests.wire import Wire

    boot = ",".join(a.bootstrap for a in cluster)
    admin = AdminClient({"bootstrap.servers": boot})
    admin.create_topics([NewTopic("coord", 3)])["coord"].result(10)
    by_node = {b.id: f"{b.host}:{b.port}" for b in admin.list_topics(timeout=10).brokers.values()}
    agent_of = {a.bootstrap: a for a in cluster}
    named = {find_coordinator(a.bootstrap, "cg") for a in cluster}
    assert len(named) == 1, f"agents disagree on the coordinator: {named}"
    coordinator = agent_of[by_node[named.pop()]]
    others = [a for a in cluster if a is not coordinator]

    c = Consumer({"bootstrap.servers": boot, "group.id": "cg", "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000})
    c.subscribe(["coord"])
    p = Producer({"bootstrap.servers": boot})
    got: list[bytes] = []

    def consume_until(value: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while value not in got and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m.value())
        assert value in got, f"{value!r} not consumed within {timeout}s"

    p.produce("coord", value=b"before")
    p.flush(10)
    consume_until(b"before", 20)
    for a in others:
        w = Wire(a.bootstrap)
        resp = w.call(DescribeGroupsRequest, {"groups": ["cg"]})
        w.close()
        assert resp.groups[0].error_code == ErrorCode.not_coordinator
    for a in cluster:  # REST from any agent: the coordinator's view
        with httpx.Client(base_url=f"http://127.0.0.1:{a.http_port}", timeout=30) as api:
            detail = api.get("/api/v1/consumer-groups/cg").json()
            assert detail["state"] == "Stable" and len(detail["members"]) == 1, detail
            assert [g["group_id"] for g in api.get("/api/v1/consumer-groups").json()] == ["cg"]
            refused = api.post("/api/v1/consumer-groups/cg/reset", json={"strategy": "earliest"})
            assert refused.status_code == 409, refused.text

    # The coordinator leaves: the group moves to a survivor and the consumer goes on.
    coordinator.stop()
    survivors = ",".join(a.bootstrap for a in others)
    wait_for(lambda: len({find_coordinator(a.bootstrap, "cg") for a in others}) == 1
             and by_node[find_coordinator(others[0].bootstrap, "cg")] != coordinator.bootstrap,
             timeout=5)
    p2 = Producer({"bootstrap.servers": survivors})
    p2.produce("coord", value=b"after")
    p2.flush(10)
    consume_until(b"after", 30)
    c.close()

    # Empty now: a reset sent to the agent that does not coordinate is done by the one that does.
    new_coord = agent_of[by_node[find_coordinator(others[0].bootstrap, "cg")]]
    bystander = next(a for a in others if a is not new_coord)
    with httpx.Client(base_url=f"http://127.0.0.1:{bystander.http_port}", timeout=30) as api:
        wait_for(lambda: api.get("/api/v1/consumer-groups/cg").json()["state"] == "Empty", 15)
        done = api.post("/api/v1/consumer-groups/cg/reset", json={"strategy": "earliest", "topic": "coord"})
        assert done.status_code == 200, done.text
        assert all(o["committed_offset"] == 0 for o in done.json()["offsets"])
        assert api.delete("/api/v1/consumer-groups/cg").status_code == 204
        assert api.get("/api/v1/consumer-groups/cg").status_code == 404


def test_produce_to_a_follower_is_refused_and_any_agent_serves_fetches(cluster):
    """Produce goes to the lease holder only (NOT_LEADER_OR_FOLLOWER elsewhere); durable
    data is served by every agent, from the catalogue's chunk index and the object store."""
    from kio.schema.errors import ErrorCode

    from storage.recordbatch import build_batch, decode_records
    from tests.integration.test_bad_input import produce
    from tests.wire import Wire

    boot = cluster[0].bootstrap
    admin = AdminClient({"bootstrap.servers": boot})
    admin.create_topics([NewTopic("follow", 3)])["follow"].result(10)
    wait_for(lambda: len(set(leaders(boot, "follow").values()) - {-1}) == 3, timeout=15)
    lead = leaders(boot, "follow")
    by_node = {b.id: f"{b.host}:{b.port}" for b in admin.list_topics(timeout=10).brokers.values()}
    leader_addr = by_node[lead[0]]
    follower = next(a for a in cluster if a.bootstrap != leader_addr)
    batch = build_batch([(b"k", b"to-the-leader", [], 1000)])
    w = Wire(follower.bootstrap)
    refused = produce(w, "follow", 0, batch)
    assert refused.responses[0].partition_responses[0].error_code == ErrorCode.not_leader_or_follower
    lw = Wire(leader_addr)
    ok = produce(lw, "follow", 0, batch)
    assert ok.responses[0].partition_responses[0].error_code == ErrorCode.none
    lw.close()

    def fetched():
        resp = w.fetch("follow", 0)
        part = resp.responses[0].partitions[0]
        assert part.error_code == ErrorCode.none, part
        return [r.value for r in decode_records(bytes(part.records or b""))]

    assert wait_for(fetched, timeout=10) == [b"to-the-leader"]
    w.close()
    # Another agent's REST API shows what the leader wrote (from its heartbeats).
    import httpx

    leader = next(a for a in cluster if a.bootstrap == leader_addr)
    with httpx.Client(base_url=f"http://127.0.0.1:{follower.http_port}", timeout=30) as api:
        def leader_row():
            rows = {r["port"]: r for r in api.get("/api/v1/agents").json()}
            row = rows[leader.port]
            return row if row["records_written"] >= 1 else None

        row = wait_for(leader_row, timeout=10)
        detail = api.get(f"/api/v1/agents/{row['id']}").json()
        assert ("follow", 0) in {(x["topic"], x["partition"]) for x in detail["leases"]}


def test_topic_changes_through_one_agent_are_answered_by_every_agent(cluster):
    """Create, add partitions, change a config, delete through a1; a2 and a3 answer each
    within a second (their caches follow the catalogue's topics version), and a request
    naming a partition they have not heard of yet is looked up, not refused."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions

    a1, a2, a3 = (AdminClient({"bootstrap.servers": a.bootstrap}) for a in cluster)
    others = (a2, a3)
    # Warm every agent's cache with the topic's first shape.
    a1.create_topics([NewTopic("shared-view", 1)])["shared-view"].result(15)
    for admin in others:
        wait_for(lambda admin=admin: "shared-view" in admin.list_topics(timeout=5).topics, 5)
    a1.create_partitions([NewPartitions("shared-view", 4)])["shared-view"].result(15)
    for admin in others:
        wait_for(lambda admin=admin: len(admin.list_topics("shared-view", timeout=5)
                                         .topics["shared-view"].partitions) == 4, 2)
    # The AdminClient above may have been answered by any agent it knows, so give every
    # agent its poll of the topics version (TOPICS_POLL_S) before a fresh producer asks
    # one of them: the coherence promised is within that interval, not at once.
    time.sleep(2 * TOPICS_POLL_S)
    # A producer through the other agents writes the new partitions (each agent leads some:
    # a produce to a partition led elsewhere is answered NOT_LEADER and retried there).
    p = Producer({"bootstrap.servers": cluster[1].bootstrap, "acks": "all"})
    delivered = []
    for partition in range(4):
        p.produce("shared-view", value=b"v%d" % partition, partition=partition,
                  on_delivery=lambda err, m: delivered.append((err, m.partition())))
    p.flush(20)
    assert sorted(d[1] for d in delivered if d[0] is None) == [0, 1, 2, 3], delivered
    for b in (c.bootstrap for c in cluster):
        c = Consumer({"bootstrap.servers": b, "group.id": f"view-{b}"})
        for partition in range(4):
            low, high = c.get_watermark_offsets(TopicPartition("shared-view", partition),
                                                timeout=10)
            assert (low, high) == (0, 1), (b, partition, low, high)
        c.close()
    # A config change shows everywhere.
    change = ConfigResource("topic", "shared-view", incremental_configs=[
        ConfigEntry("retention.ms", "12345", incremental_operation=AlterConfigOpType.SET)])
    [f] = a1.incremental_alter_configs([change]).values()
    f.result(15)

    def retention(admin):
        [f] = admin.describe_configs([ConfigResource("topic", "shared-view")]).values()
        return f.result(10)["retention.ms"].value

    for admin in others:
        wait_for(lambda admin=admin: retention(admin) == "12345", 2)
    # A deletion too.
    a1.delete_topics(["shared-view"])["shared-view"].result(15)
    for admin in others:
        wait_for(lambda admin=admin: "shared-view" not in admin.list_topics(timeout=5).topics, 2)
