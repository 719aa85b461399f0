"""kill -9 of the server during produce loses no acknowledged record (acks=all, and acks=1 via the WAL)."""

import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def consume_all(bootstrap: str, topic: str, partitions: int, timeout: float = 30) -> list[bytes]:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "crash-check",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # acks=1 answers before the flush: wait until the high watermarks settle.
    ends: dict[int, int] = {}
    while True:
        now = {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
        if now == ends:
            break
        ends = now
        time.sleep(0.5)
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: list[bytes] = []
    positions = dict.fromkeys(range(partitions), 0)
    deadline = time.monotonic() + timeout
    while any(positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        values.append(m.value())
        positions[m.partition()] = m.offset() + 1
    c.close()
    del admin
    return values


@pytest.mark.parametrize("acks", ["all", "1"])
def test_kill_9_during_produce_loses_no_acked_record(server_factory, tmp_path, acks):
    # With acks=1, slow flushes keep acknowledged data in the WAL only when the kill lands.
    extra = ["--max-flushes-per-second", "0.5"] if acks == "1" else []
    server = server_factory(tmp_path / "data", extra=extra).start()
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("crash", 3)])["crash"].result(10)
    acked: list[bytes] = []
    stop = threading.Event()

    def produce() -> None:
        p = Producer(
            {
                "bootstrap.servers": server.bootstrap,
                "acks": acks,
                "linger.ms": 2,
                "message.timeout.ms": 60000,
                "enable.idempotence": False,
                "retries": 0 if acks == "1" else 2147483647,
            }
        )

        def on_delivery(err, msg):
            if err is None:
                acked.append(msg.value())

        i = 0
        while not stop.is_set():
            try:
                p.produce("crash", value=b"%09d" % i, key=b"%d" % (i % 10), on_delivery=on_delivery)
                i += 1
            except BufferError:
                pass
            p.poll(0.0005 if i % 50 == 0 else 0)
        p.flush(60)

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(2.0)
    before_kill = len(acked)
    server.kill()
    time.sleep(0.5)
    server.start()  # same data dir, same port: the producer reconnects
    time.sleep(1.5)
    stop.set()
    thread.join(90)
    assert before_kill > 100, "the producer should have had records acknowledged before the kill"
    if acks == "1":
        # The replay restored entries the kill left uncommitted (not only skipped ones).
        import json

        replays = [json.loads(line) for line in server.log().splitlines()
                   if '"wal_replayed"' in line]
        assert replays and sum(r["original_offset"] + r["appended_anew"] for r in replays) > 0, replays
    # acks=1 answers before the flush: a graceful stop flushes the rest, then read it all.
    server.stop()
    server.start()
    got = consume_all(server.bootstrap, "crash", 3)
    missing = set(acked) - set(got)
    assert not missing, f"{len(missing)} acknowledged records lost (acks={acks})"
    server.stop()
