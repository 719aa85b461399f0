"""A running server end to end: idempotent producers at the wire level (across a restart),
and a round trip with the PostgreSQL catalogue and the S3 object store."""

import time

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from kio.schema.errors import ErrorCode
from kio.schema.init_producer_id.v4.request import InitProducerIdRequest
from kio.schema.list_offsets.v7.request import ListOffsetsRequest

from storage.recordbatch import build_batch
from tests.integration.test_bad_input import create_topic, produce
from tests.wire import Wire


def idempotent_batch(pid: int, epoch: int, seq: int, n: int = 3) -> bytes:
    return build_batch(
        [(b"k", b"v%d" % (seq + i), [], 1000) for i in range(n)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
    )


def init_producer(wire: Wire) -> tuple[int, int]:
    resp = wire.call(
        InitProducerIdRequest,
        {
            "transactional_id": None,
            "transaction_timeout": 60000,
            "producer_id": -1,
            "producer_epoch": -1,
        },
    )
    assert resp.error_code == ErrorCode.none
    return resp.producer_id, resp.producer_epoch


def test_idempotent_retries_gaps_and_epochs_survive_a_restart(server_factory, tmp_path):
    server = server_factory(tmp_path / "data").start()
    wire = Wire(server.bootstrap)
    create_topic(wire, "idem")
    pid, epoch = init_producer(wire)
    first = produce(wire, "idem", 0, idempotent_batch(pid, epoch, 0))
    assert first.responses[0].partition_responses[0].base_offset == 0
    retry = produce(wire, "idem", 0, idempotent_batch(pid, epoch, 0))
    part = retry.responses[0].partition_responses[0]
    assert part.error_code == ErrorCode.none and part.base_offset == 0  # deduplicated
    gap = produce(wire, "idem", 0, idempotent_batch(pid, epoch, 10))
    assert (
        gap.responses[0].partition_responses[0].error_code == ErrorCode.out_of_order_sequence_number
    )
    for seq in (3, 6, 9):
        nxt = produce(wire, "idem", 0, idempotent_batch(pid, epoch, seq))
        assert nxt.responses[0].partition_responses[0].base_offset == seq
    wire.close()
    server.stop()

    server.start()
    wire = Wire(server.bootstrap)
    # Remembered across the restart: the last batch, and (as in Kafka, up to five) the
    # ones before it, so a producer retrying all its in-flight batches sees no error.
    for seq in (9, 3, 6, 0):
        again = produce(wire, "idem", 0, idempotent_batch(pid, epoch, seq))
        part = again.responses[0].partition_responses[0]
        assert (part.error_code, part.base_offset) == (ErrorCode.none, seq)
    # The producer bumps its epoch (InitProducerId with its id and epoch, as after a
    # timeout); batches of the old epoch are refused from then on.
    bumped = wire.call(InitProducerIdRequest, {"transactional_id": None,
                                               "transaction_timeout": 60000,
                                               "producer_id": pid, "producer_epoch": epoch})
    assert bumped.error_code == ErrorCode.none and bumped.producer_id == pid
    assert bumped.producer_epoch == epoch + 1
    first_new = produce(wire, "idem", 0, idempotent_batch(pid, epoch + 1, 0))
    assert first_new.responses[0].partition_responses[0].error_code == ErrorCode.none
    stale = produce(wire, "idem", 0, idempotent_batch(pid, epoch, 6))
    assert stale.responses[0].partition_responses[0].error_code == ErrorCode.invalid_producer_epoch
    resp = wire.call(
        ListOffsetsRequest,
        {
            "replica_id": -1,
            "isolation_level": 0,
            "topics": [
                {
                    "name": "idem",
                    "partitions": [
                        {"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}
                    ],
                }
            ],
        },
    )
    assert resp.topics[0].partitions[0].offset == 15  # five batches of three, no duplicates
    wire.close()
    server.stop()


def test_round_trip_on_postgresql_and_s3(server_factory, tmp_path, pg_url, s3_env):
    server = server_factory(
        tmp_path / "pg",
        extra=["--catalogue", pg_url, "--objects", f"s3://{s3_env['BUCKET']}/sh"],
    ).start()
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("pgs3", 3, config={"retention.ms": "3600000"})])["pgs3"].result(
        10
    )
    cfg = admin.describe_configs([ConfigResource("topic", "pgs3")])
    [(_res, fut)] = cfg.items()
    assert fut.result(10)["retention.ms"].value == "3600000"
    p = Producer(
        {
            "bootstrap.servers": server.bootstrap,
            "enable.idempotence": True,
            "compression.type": "lz4",
        }
    )
    for i in range(3000):
        p.produce("pgs3", key=b"%d" % (i % 13), value=b"%06d" % i, headers=[("n", b"%d" % i)])
    assert p.flush(30) == 0
    server.stop()
    server.start()  # a restart: everything comes back from PostgreSQL and S3
    c = Consumer(
        {"bootstrap.servers": server.bootstrap, "group.id": "x", "enable.auto.commit": False}
    )
    c.assign([TopicPartition("pgs3", part, 0) for part in range(3)])
    got: dict[int, list[int]] = {0: [], 1: [], 2: []}
    deadline = time.monotonic() + 30
    while sum(map(len, got.values())) < 3000 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got[m.partition()].append(int(m.value()))
        assert m.headers() == [("n", m.value().lstrip(b"0") or b"0")]
    c.close()
    assert sorted(v for vs in got.values() for v in vs) == list(range(3000))
    for values in got.values():
        assert values == sorted(values)  # per-partition order kept
    server.stop()


def test_a_second_agent_on_sqlite_is_refused(server_factory, tmp_path):
    first = server_factory(tmp_path / "one").start()
    catalogue = f"sqlite:///{tmp_path / 'one' / 'catalogue.db'}"
    second = server_factory(tmp_path / "two", extra=["--catalogue", catalogue])
    with pytest.raises(RuntimeError):
        second.start()  # exits before listening
    assert second.proc is not None and second.proc.wait(10) == 1
    assert "SQLite serves one agent" in second.log()
    first.stop()
    # After a graceful stop the catalogue is free for another agent at once.
    third = server_factory(tmp_path / "three", extra=["--catalogue", catalogue]).start()
    third.stop()


def test_backpressure_when_the_store_is_down(server_factory, tmp_path):
    """A full write buffer answers a retriable error with a throttle time; memory stays bounded."""
    from tests.integration.test_bad_input import create_topic, produce

    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    server = server_factory(tmp_path / "bp", env=env, extra=[
        "--objects", "s3://nowhere/x", "--max-buffer-bytes", "8000"]).start()
    wire = Wire(server.bootstrap)
    create_topic(wire, "bp")
    big = build_batch([(None, b"x" * 3000, [], 1)])
    first = produce(wire, "bp", 0, big, acks=1)
    assert first.responses[0].partition_responses[0].error_code == ErrorCode.none
    produce(wire, "bp", 0, big, acks=1)
    refused = produce(wire, "bp", 0, big, acks=1)
    part = refused.responses[0].partition_responses[0]
    assert part.error_code == ErrorCode.kafka_storage_error  # retriable: the client retries
    assert "write buffer" in part.error_message
    assert refused.throttle_time.total_seconds() * 1000 == 500
    wire.close()
    server.kill()


def test_committed_offsets_and_their_metadata_survive_a_restart(server_factory, tmp_path):
    """A group commits (with a metadata string and leader epoch) over the Kafka protocol;
    after a restart on the same data dir the group, its offsets and metadata are there and
    a new member of the group resumes from them."""
    server = server_factory(tmp_path / "data").start()
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("resume", 2)])["resume"].result(10)
    p = Producer({"bootstrap.servers": server.bootstrap})
    for i in range(10):
        p.produce("resume", value=b"%d" % i, partition=i % 2)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "keeper",
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("resume", 0, 3, "first half", 0),
                      TopicPartition("resume", 1, 4)], asynchronous=False)
    c.close()
    server.stop()
    server.start()
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "keeper",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    got = c.committed([TopicPartition("resume", 0), TopicPartition("resume", 1)], timeout=10)
    assert [(t.partition, t.offset) for t in got] == [(0, 3), (1, 4)]
    assert got[0].metadata == "first half" and got[0].leader_epoch == 0
    c.subscribe(["resume"])
    first: dict[int, int] = {}  # partition -> first offset delivered after the restart
    deadline = time.monotonic() + 15
    while len(first) < 2 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            first.setdefault(m.partition(), m.offset())
    assert first == {0: 3, 1: 4}, first
    c.close()
    groups = admin.list_consumer_groups().result(10).valid
    assert [g.group_id for g in groups] == ["keeper"]
    server.stop()


@pytest.mark.parametrize("catalogue", ["sqlite", "postgresql"])
def test_a_restart_takes_back_thousands_of_partitions_in_one_go(
    server_factory, tmp_path, request, catalogue
):
    """After a graceful stop every lease is free; the restarted agent takes all of them in
    one catalogue transaction (not five queries each) and opens each on first use."""
    extra = ["--catalogue", request.getfixturevalue("pg_url")] if catalogue == "postgresql" else []
    server = server_factory(tmp_path / "wide", extra=extra).start()
    api = httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=60)
    assert api.post("/api/v1/topics", json={"name": "wide", "partitions": 3000}).status_code == 201
    last = {"topic": "wide", "records": [{"value": "kept", "partition": 2999}]}
    assert api.post("/api/v1/produce", json=last, headers={"X-Ack-Mode": "durable"}).status_code == 200
    server.stop()
    api.close()

    restarted = time.monotonic()
    server.start()
    api = httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=60)
    agent = api.get("/api/v1/agents").json()[0]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = api.get("/api/v1/topics/wide/partitions").json()
        led = sum(1 for p in parts if p["leader_agent"] == agent)
        if led == 3000:
            break
        time.sleep(0.2)
    print(f"{catalogue}: 3000 partitions led {time.monotonic() - restarted:.2f} s after the restart")
    assert led == 3000
    taken = [line for line in server.log().splitlines() if '"leases_taken"' in line]
    assert taken and '"partitions": 3000' in taken[-1], taken
    got = api.get("/api/v1/consume", params={"topic": "wide", "partition": 2999}).json()
    assert [r["value"] for r in got["records"]] == ["kept"]
    more = api.post("/api/v1/produce", json={"topic": "wide", "records": [{"value": "v", "partition": 7}]})
    assert more.status_code == 200 and more.json()["records"][0]["offset"] == 0
    api.close()
    server.stop()
