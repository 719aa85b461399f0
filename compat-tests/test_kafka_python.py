"""kafka-python (3.x): produce and consume back 10,000 records.

Producer defaults in kafka-python 3.0 (KIP-679): enable_idempotence=True and
acks='all', so the codec tests run the idempotent producer. The acks=0/1
tests switch idempotence off explicitly (kafka-python would otherwise turn it
off itself with a warning). Consuming uses assign()/seek_to_beginning()
without a group.
"""

from __future__ import annotations

import pytest
from compat_roundtrip import (
    CODECS,
    N_PARTITIONS,
    Progress,
    Rec,
    make_records,
    verify_roundtrip,
)
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec

CLIENT = "kafka-python"
HAVE_CODEC = {
    "none": True,
    "gzip": kcodec.has_gzip(),
    "snappy": kcodec.has_snappy(),  # python-snappy
    "lz4": kcodec.has_lz4(),  # lz4
    "zstd": kcodec.has_zstd(),  # zstandard
}


def produce(bootstrap: str, topic: str, recs: list[Rec], **config) -> KafkaProducer:
    """Send every record with an explicit partition/timestamp; return the (closed) producer."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=f"compat-{CLIENT}", **config)
    try:
        futures = [
            producer.send(
                topic,
                value=r.value,
                key=r.key,
                headers=list(r.headers),
                partition=r.partition,
                timestamp_ms=r.timestamp,
            )
            for r in recs
        ]
        producer.flush(timeout=60)
        errors = [f.exception for f in futures if f.failed()]
        pending = sum(1 for f in futures if not f.is_done)
        assert not pending, f"{pending} sends still pending after flush"
        assert not errors, f"{len(errors)} sends failed, first: {errors[0]!r}"
        if config.get("acks", "all") not in (0, "0"):
            for r, f in zip(recs, futures, strict=True):
                md = f.value
                assert md.partition == r.partition, (md, r)
    finally:
        producer.close(timeout=10)
    return producer


def consume(bootstrap: str, topic: str, expected: list[Rec]) -> tuple[list[Rec], dict[int, int]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=f"compat-{CLIENT}",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(N_PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        progress = Progress(expected, end_offsets={tp.partition: o for tp, o in ends.items()})
        while progress.keep_going({tp.partition: consumer.position(tp) for tp in tps}):
            for _tp, msgs in consumer.poll(timeout_ms=500).items():
                progress.add(
                    Rec(m.partition, m.key, m.value, tuple(m.headers or ()), m.timestamp, m.offset)
                    for m in msgs
                )
        end_after = {tp.partition: o for tp, o in consumer.end_offsets(tps).items()}
        return progress.records, end_after
    finally:
        consumer.close(autocommit=False)


def roundtrip(bootstrap: str, topic: str, what: str, **producer_config) -> KafkaProducer:
    expected = make_records(tag=topic)
    producer = produce(bootstrap, topic, expected, **producer_config)
    consumed, end_offsets = consume(bootstrap, topic, expected)
    verify_roundtrip(expected, consumed, end_offsets=end_offsets, what=f"{CLIENT} {what}")
    return producer


@pytest.mark.parametrize("codec", CODECS)
def test_codec_roundtrip(bootstrap, topic, codec, need_tool):
    need_tool(
        HAVE_CODEC[codec],
        f"{CLIENT}: no library for {codec} (pip install -r compat-tests/requirements.txt)",
    )
    roundtrip(
        bootstrap,
        topic,
        f"compression={codec}",
        compression_type=None if codec == "none" else codec,
    )


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_acks(bootstrap, topic, acks):
    roundtrip(bootstrap, topic, f"acks={acks}", acks=acks, enable_idempotence=False)


def test_idempotent_producer_is_default(bootstrap, topic):
    producer = roundtrip(bootstrap, topic, "default config (idempotent)")
    assert producer.config["enable_idempotence"] is True, "idempotence was switched off"
    assert producer.config["acks"] == -1
    pid = producer._transaction_manager.producer_id_and_epoch
    assert pid.producer_id >= 0, f"no producer id from InitProducerId: {pid}"
