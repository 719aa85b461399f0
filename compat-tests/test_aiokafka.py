"""aiokafka (0.14): produce and consume back 10,000 records.

aiokafka's producer defaults to acks=1 without idempotence; the codec tests
use those defaults, the acks tests set acks explicitly, and one test turns
enable_idempotence on (InitProducerId v0, acks=all). Snappy, lz4 and zstd
come from cramjam. Consuming uses assign()/seek_to_beginning() without a
group.
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka import codec as acodec
from compat_roundtrip import (
    CODECS,
    N_PARTITIONS,
    Progress,
    Rec,
    make_records,
    verify_roundtrip,
)

CLIENT = "aiokafka"
HAVE_CODEC = {
    "none": True,
    "gzip": acodec.has_gzip(),
    "snappy": acodec.has_snappy(),  # cramjam
    "lz4": acodec.has_lz4(),  # cramjam
    "zstd": acodec.has_zstd(),  # cramjam
}


async def produce(bootstrap: str, topic: str, recs: list[Rec], **config) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=f"compat-{CLIENT}", **config)
    try:
        await producer.start()
        futures = []
        for r in recs:
            # send() waits only while the accumulator is full; the returned
            # future resolves when the broker has answered (or at once, acks=0).
            futures.append(
                await producer.send(
                    topic,
                    value=r.value,
                    key=r.key,
                    headers=list(r.headers),
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                )
            )
        await producer.flush()
        errors = []
        for r, f in zip(recs, futures, strict=True):
            try:
                md = await f
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)
                continue
            if md is not None:  # acks=0 resolves to None
                assert md.partition == r.partition, (md, r)
        assert not errors, f"{len(errors)} sends failed, first: {errors[0]!r}"
    finally:
        await producer.stop()
    return producer


async def consume(
    bootstrap: str, topic: str, expected: list[Rec]
) -> tuple[list[Rec], dict[int, int]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=f"compat-{CLIENT}",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )
    try:
        await consumer.start()
        tps = [TopicPartition(topic, p) for p in range(N_PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        progress = Progress(expected, end_offsets={tp.partition: o for tp, o in ends.items()})

        async def positions() -> dict[int, int]:
            return {tp.partition: await consumer.position(tp) for tp in tps}

        while progress.keep_going(await positions()):
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for _tp, msgs in batch.items():
                progress.add(
                    Rec(m.partition, m.key, m.value, tuple(m.headers or ()), m.timestamp, m.offset)
                    for m in msgs
                )
        end_after = {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
        return progress.records, end_after
    finally:
        await consumer.stop()


async def roundtrip(bootstrap: str, topic: str, what: str, **producer_config) -> AIOKafkaProducer:
    expected = make_records(tag=topic)
    producer = await produce(bootstrap, topic, expected, **producer_config)
    consumed, end_offsets = await consume(bootstrap, topic, expected)
    verify_roundtrip(expected, consumed, end_offsets=end_offsets, what=f"{CLIENT} {what}")
    return producer


@pytest.mark.parametrize("codec", CODECS)
async def test_codec_roundtrip(bootstrap, topic, codec, need_tool):
    need_tool(HAVE_CODEC[codec], f"{CLIENT}: no library for {codec} (cramjam)")
    await roundtrip(
        bootstrap,
        topic,
        f"compression={codec}",
        compression_type=None if codec == "none" else codec,
    )


@pytest.mark.parametrize("acks", [0, 1, "all"])
async def test_acks(bootstrap, topic, acks):
    await roundtrip(bootstrap, topic, f"acks={acks}", acks=acks)


async def test_idempotent_producer(bootstrap, topic):
    producer = await roundtrip(bootstrap, topic, "enable_idempotence=True", enable_idempotence=True)
    pid = producer._txn_manager.producer_id
    assert pid is not None and pid >= 0, f"no producer id from InitProducerId: {pid}"
