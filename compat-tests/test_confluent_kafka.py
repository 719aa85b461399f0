"""confluent-kafka (librdkafka 2.x): produce and consume back 10,000 records.

librdkafka has every codec built in. Its producer defaults to acks=all
without idempotence; one test sets enable.idempotence=true. The consumer
needs a group.id even for assign() (confluent-kafka refuses to create one
without it), so it gets a throw-away group id with auto-commit and offset
storing off and every partition assigned at OFFSET_BEGINNING: fetching then
needs no coordinator (librdkafka may still send FindCoordinator in the
background; errors from that are only reported, not failed on).
"""

from __future__ import annotations

import uuid

import pytest
from compat_roundtrip import (
    CODECS,
    N_PARTITIONS,
    Progress,
    Rec,
    make_records,
    verify_roundtrip,
)
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

CLIENT = "confluent-kafka"


def produce(bootstrap: str, topic: str, recs: list[Rec], **conf) -> None:
    delivery_errors: list = []
    fatal: list = []
    delivered = 0

    def on_delivery(err, msg):
        nonlocal delivered
        if err is not None:
            delivery_errors.append(err)
        else:
            delivered += 1

    def on_error(err):
        if err.fatal():
            fatal.append(err)

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": f"compat-{CLIENT}",
            "error_cb": on_error,
            "message.timeout.ms": 60_000,
            **conf,
        }
    )
    for i, r in enumerate(recs):
        while True:
            try:
                producer.produce(
                    topic,
                    value=r.value,
                    key=r.key,
                    partition=r.partition,
                    timestamp=r.timestamp,
                    headers=list(r.headers),
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.1)
        if i % 1000 == 999:
            producer.poll(0)
    left = producer.flush(60)
    assert not fatal, f"fatal producer error: {fatal[0]}"
    assert left == 0, f"{left} records not delivered after 60 s; errors: {delivery_errors[:3]}"
    assert not delivery_errors, (
        f"{len(delivery_errors)} delivery errors, first: {delivery_errors[0]}"
    )
    assert delivered == len(recs)


def consume(bootstrap: str, topic: str, expected: list[Rec]) -> tuple[list[Rec], dict[int, int]]:
    background_errors: list = []
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": f"compat-{CLIENT}",
            "group.id": f"compat-unused-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 200,
            "error_cb": background_errors.append,
        }
    )
    try:
        tps = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(N_PARTITIONS)]
        consumer.assign(tps)

        def end_offsets() -> dict[int, int]:
            return {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(N_PARTITIONS)
            }

        def positions() -> dict[int, int]:
            return {tp.partition: tp.offset for tp in consumer.position(tps)}

        progress = Progress(expected, end_offsets=end_offsets())
        while progress.keep_going(positions()):
            batch = []
            for m in consumer.consume(num_messages=1000, timeout=0.5):
                if m.error() is not None:
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consume error: {m.error()}")
                _ts_type, ts = m.timestamp()
                batch.append(
                    Rec(m.partition(), m.key(), m.value(), tuple(m.headers() or ()), ts, m.offset())
                )
            progress.add(batch)
        if background_errors:
            print(f"{CLIENT} consumer background errors (not failed on): {background_errors[:5]}")
        return progress.records, end_offsets()
    finally:
        consumer.close()


def roundtrip(bootstrap: str, topic: str, what: str, **conf) -> None:
    expected = make_records(tag=topic)
    produce(bootstrap, topic, expected, **conf)
    consumed, end_offsets = consume(bootstrap, topic, expected)
    verify_roundtrip(expected, consumed, end_offsets=end_offsets, what=f"{CLIENT} {what}")


@pytest.mark.parametrize("codec", CODECS)
def test_codec_roundtrip(bootstrap, topic, codec):
    roundtrip(bootstrap, topic, f"compression={codec}", **{"compression.codec": codec})


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(bootstrap, topic, acks):
    roundtrip(bootstrap, topic, f"acks={acks}", acks=acks)


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_idempotent_producer(bootstrap, topic, codec):
    roundtrip(
        bootstrap,
        topic,
        f"enable.idempotence=true compression={codec}",
        **{"enable.idempotence": True, "compression.codec": codec},
    )
