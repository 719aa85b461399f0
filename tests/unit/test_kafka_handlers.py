"""The Kafka handlers over the service layer, without a socket.

A real Runtime (SQLite catalogue, file object store, segment log, group coordinator) in
tmp_path; a KafkaListener that is never started; each exchange drives one Connection with
an asyncio.StreamReader fed with request frames and a writer that records what is written
(as uvicorn's tests/protocols/test_http.py do with a mock transport).
"""

from __future__ import annotations

import asyncio
import datetime
import io
import itertools
import struct
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.schema.response_header.v0.header import ResponseHeader as ResponseHeaderV0
from kio.schema.response_header.v1.header import ResponseHeader as ResponseHeaderV1
from kio.serial import entity_reader, entity_writer

from broker import errors
from broker.context import RequestContext
from broker.runtime import Runtime, RuntimeOptions
from broker.service import Broker, BrokerOptions
from coordinator.catalogue import Agent
from coordinator.groups import GroupDescription
from coordinator.offsets import CommittedOffset
from coordinator.sql import CatalogueUnavailable
from protocol.build import build
from protocol.codec import request_class, response_class
from protocol.connection import Connection
from protocol.listener import KafkaListener
from storage.recordbatch import build_batch, decode_records

PRODUCE, FETCH, LIST_OFFSETS, METADATA, API_VERSIONS, CREATE_TOPICS = 0, 1, 2, 3, 18, 19
ZERO_UUID = uuid.UUID(int=0)
T0 = 1_700_000_000_000  # record timestamps (ms)

_correlation = itertools.count(1)


# -- the harness -----------------------------------------------------------------------


class StubPeers:
    """broker.peers.Peers for a lone agent: there is nobody to ask."""

    def use_secret(self, secret: bytes) -> None:
        self.secret = secret

    async def produce(
        self, agent: Agent, org_id: str, topic: str, partition: int, records: bytes, *,
        acks: int,
    ) -> int:
        raise errors.NotLeaderOrFollower("no other agent in these tests")

    async def describe_group(
        self, agent: Agent, org_id: str, group_id: str
    ) -> GroupDescription | None:
        raise errors.CoordinatorUnavailable("no other agent in these tests")

    async def commit_offsets(
        self, agent: Agent, org_id: str, group_id: str, offsets: list[CommittedOffset]
    ) -> None:
        raise errors.CoordinatorUnavailable("no other agent in these tests")

    async def delete_group(self, agent: Agent, org_id: str, group_id: str) -> None:
        raise errors.CoordinatorUnavailable("no other agent in these tests")


class FakeTransport:
    def get_write_buffer_size(self) -> int:
        return 0


class FakeWriter:
    """The StreamWriter side Connection uses: write, drain, close, peername, transport."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self.transport = FakeTransport()

    def write(self, data: bytes) -> None:
        assert not self.closed, "a response written after close"
        self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default


@dataclass
class Sent:
    api_key: int
    version: int
    correlation_id: int
    frame: bytes  # with its size prefix


@dataclass
class Answer:
    correlation_id: int
    body: Any


@dataclass
class Kafka:
    runtime: Runtime
    broker: Broker
    listener: KafkaListener


@pytest.fixture
async def kafka(tmp_path: Path) -> AsyncIterator[Kafka]:
    runtime = Runtime(RuntimeOptions(
        catalogue_url=f"sqlite:///{tmp_path}/cat.db",
        objects_url=f"file://{tmp_path}/objects",
        agent_id="a1",
        data_dir=tmp_path,
        lease_ttl_ms=5_000,
        max_flushes_per_second=50.0,
        broker=BrokerOptions(group_initial_rebalance_delay_ms=0),
    ))
    broker = await runtime.open("localhost", 9092, StubPeers())
    try:
        yield Kafka(runtime=runtime, broker=broker, listener=KafkaListener(broker))
    finally:
        await runtime.hand_over()
        await runtime.close()


def request(api_key: int, version: int, values: dict[str, Any], *,
            client_id: str = "handler-test") -> Sent:
    """One request frame (size prefix, header, body) from plain values (see `build`)."""
    cls: Any = request_class(api_key, version)
    assert cls is not None, f"kio has no request {api_key} v{version}"
    correlation_id = next(_correlation)
    header_cls: Any = cls.__header_schema__
    out = io.BytesIO()
    entity_writer(header_cls)(out, build(header_cls, {
        "request_api_key": api_key, "request_api_version": version,
        "correlation_id": correlation_id, "client_id": client_id,
    }))
    entity_writer(cls)(out, build(cls, values))
    payload = out.getvalue()
    return Sent(api_key, version, correlation_id, struct.pack(">i", len(payload)) + payload)


def split_frames(data: bytes) -> list[bytes]:
    frames = []
    pos = 0
    while pos < len(data):
        (size,) = struct.unpack_from(">i", data, pos)
        frames.append(bytes(data[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    assert pos == len(data), "a truncated response frame"
    return frames


def decode_response(frame: bytes, api_key: int, version: int) -> Answer:
    cls: Any = response_class(api_key, version)
    # ApiVersions answers with response header v0 whatever its version (KIP-511).
    header_cls: Any = (ResponseHeaderV1 if cls.__flexible__ and api_key != API_VERSIONS
                       else ResponseHeaderV0)
    header, offset = entity_reader(header_cls)(frame, 0)
    body, _size = entity_reader(cls)(frame, offset)
    return Answer(int(header.correlation_id), body)


async def serve(listener: KafkaListener, data: bytes, *, eof: bool = True,
                timeout: float = 5.0) -> FakeWriter:
    """Feed `data` to a new connection, serve it until it ends; the writer it wrote to."""
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    writer = FakeWriter()
    conn = Connection(
        reader,
        writer,  # type: ignore[arg-type]
        dispatch=listener.dispatch,
        unsupported=listener.unsupported,
        supported=listener.supported,
        max_frame_bytes=listener.options.max_request_bytes,
    )
    await asyncio.wait_for(conn.serve(), timeout)
    assert writer.closed
    return writer


async def exchange(listener: KafkaListener, *sent: Sent, timeout: float = 5.0) -> list[Answer]:
    """Send requests in one buffer on one connection; the answers in the order written."""
    writer = await serve(listener, b"".join(s.frame for s in sent), timeout=timeout)
    by_id = {s.correlation_id: s for s in sent}
    answers = []
    for frame in split_frames(bytes(writer.data)):
        (correlation_id,) = struct.unpack_from(">i", frame, 0)
        s = by_id[correlation_id]
        answers.append(decode_response(frame, s.api_key, s.version))
    return answers


async def one(listener: KafkaListener, sent: Sent) -> Any:
    answers = await exchange(listener, sent)
    assert [a.correlation_id for a in answers] == [sent.correlation_id]
    return answers[0].body


# -- requests ----------------------------------------------------------------------------


def api_versions(version: int = 3) -> Sent:
    return request(API_VERSIONS, version, {"client_software_name": "handler-test",
                                           "client_software_version": "1.0"})


def metadata(*names: str, auto_create: bool = True) -> Sent:
    return request(METADATA, 12, {
        "topics": [{"name": n, "topic_id": ZERO_UUID} for n in names],
        "allow_auto_topic_creation": auto_create,
        "include_topic_authorized_operations": False,
    })


def produce(topic: str, records: bytes, *, acks: int = -1, partition: int = 0) -> Sent:
    return request(PRODUCE, 9, {
        "transactional_id": None, "acks": acks, "timeout": datetime.timedelta(seconds=5),
        "topic_data": [{"name": topic,
                        "partition_data": [{"index": partition, "records": records}]}],
    })


def fetch(topic: str, offset: int, *, max_wait_ms: int = 0, partition: int = 0) -> Sent:
    return request(FETCH, 12, {
        "replica_id": -1, "max_wait": datetime.timedelta(milliseconds=max_wait_ms),
        "min_bytes": 1, "max_bytes": 1 << 20, "isolation_level": 0, "session_id": 0,
        "session_epoch": -1, "rack_id": "",
        "topics": [{"topic": topic, "partitions": [{
            "partition": partition, "current_leader_epoch": -1, "fetch_offset": offset,
            "last_fetched_epoch": -1, "log_start_offset": -1,
            "partition_max_bytes": 1 << 20}]}],
        "forgotten_topics_data": [],
    })


def list_offsets(topic: str, *, timestamp: int = -1) -> Sent:
    return request(LIST_OFFSETS, 7, {
        "replica_id": -1, "isolation_level": 0,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": 0, "current_leader_epoch": -1, "timestamp": timestamp}]}],
    })


def create_topics(topic: str, *, partitions: int, configs: dict[str, str],
                  validate_only: bool) -> Sent:
    return request(CREATE_TOPICS, 7, {
        "topics": [{"name": topic, "num_partitions": partitions, "replication_factor": -1,
                    "assignments": [],
                    "configs": [{"name": k, "value": v} for k, v in configs.items()]}],
        "timeout": datetime.timedelta(seconds=5),
        "validate_only": validate_only,
    })


Rec = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int]


def batch(records: Sequence[Rec]) -> bytes:
    return build_batch(list(records))


# -- 1. ApiVersions ----------------------------------------------------------------------


async def test_api_versions_lists_produce_and_fetch(kafka: Kafka) -> None:
    body = await one(kafka.listener, api_versions(3))
    assert body.error_code == ErrorCode.none
    ranges = {int(k.api_key): (int(k.min_version), int(k.max_version)) for k in body.api_keys}
    assert ranges[PRODUCE] == (3, 9)
    assert ranges[FETCH] == (4, 12)
    assert ranges[API_VERSIONS] == (0, 4)


async def test_api_versions_of_an_unknown_version_answers_v0_with_the_list(
    kafka: Kafka,
) -> None:
    sent = api_versions(3)
    frame = bytearray(sent.frame)
    struct.pack_into(">h", frame, 4 + 2, 99)  # request_api_version: v99
    writer = await serve(kafka.listener, bytes(frame))
    [raw] = split_frames(bytes(writer.data))
    answer = decode_response(raw, API_VERSIONS, 0)
    assert answer.correlation_id == sent.correlation_id
    assert answer.body.error_code == ErrorCode.unsupported_version
    assert int(answer.body.error_code) == 35
    ranges = {int(k.api_key): (int(k.min_version), int(k.max_version))
              for k in answer.body.api_keys}
    assert ranges[API_VERSIONS] == (0, 4)
    assert ranges[PRODUCE] == (3, 9)


# -- 2. Metadata -------------------------------------------------------------------------


async def test_metadata_auto_creates_a_topic_led_by_this_broker(kafka: Kafka) -> None:
    body = await one(kafka.listener, metadata("orders"))
    node_id = kafka.broker.agent.broker_id
    assert [(int(b.node_id), b.host, int(b.port)) for b in body.brokers] == [
        (node_id, "localhost", 9092)]
    assert int(body.controller_id) == node_id
    [topic] = body.topics
    assert topic.error_code == ErrorCode.none
    assert topic.name == "orders"
    assert topic.topic_id is not None and topic.topic_id != ZERO_UUID
    [p] = topic.partitions
    assert p.error_code == ErrorCode.none
    assert int(p.partition_index) == 0
    assert int(p.leader_id) == node_id
    assert [int(n) for n in p.replica_nodes] == [node_id]

    # Asked again, the same topic (same id): created once.
    again = await one(kafka.listener, metadata("orders"))
    assert again.topics[0].topic_id == topic.topic_id


async def test_metadata_without_auto_creation_answers_unknown_topic(kafka: Kafka) -> None:
    body = await one(kafka.listener, metadata("nowhere", auto_create=False))
    [topic] = body.topics
    assert topic.error_code == ErrorCode.unknown_topic_or_partition
    assert topic.name == "nowhere"
    assert list(topic.partitions) == []
    # And it was not created behind the client's back.
    assert await kafka.broker.topics.get(RequestContext.anonymous("kafka"), "nowhere") is None
    again = await one(kafka.listener, metadata("nowhere", auto_create=False))
    assert again.topics[0].error_code == ErrorCode.unknown_topic_or_partition


# -- 3. Produce then Fetch -----------------------------------------------------------------


async def test_produce_acks_all_then_fetch_returns_the_records(kafka: Kafka) -> None:
    first: list[Rec] = [
        (b"k0", b"v0", [("h", b"1")], T0),
        (None, b"v1", [], T0 + 1),
        (b"k2", None, [("a", None), ("b", b"x")], T0 + 2),
    ]
    second: list[Rec] = [(b"k3", b"v3", [], T0 + 3), (b"k4", b"v4", [], T0 + 4)]

    body = await one(kafka.listener, produce("events", batch(first)))
    [t] = body.responses
    assert t.name == "events"
    [p] = t.partition_responses
    assert p.error_code == ErrorCode.none, p.error_message
    assert int(p.base_offset) == 0

    body = await one(kafka.listener, produce("events", batch(second)))
    p = body.responses[0].partition_responses[0]
    assert p.error_code == ErrorCode.none, p.error_message
    assert int(p.base_offset) == len(first)

    body = await one(kafka.listener, fetch("events", 0))
    assert body.error_code == ErrorCode.none
    [t] = body.responses
    [part] = t.partitions
    assert part.error_code == ErrorCode.none
    assert int(part.high_watermark) == len(first) + len(second)
    assert part.records is not None
    got = [(r.offset, r.key, r.value, list(r.headers), r.timestamp)
           for r in decode_records(bytes(part.records))]
    assert got == [(i, k, v, h, ts) for i, (k, v, h, ts) in enumerate(first + second)]

    # From the middle of the second batch: whole batches, the wanted offset among them.
    body = await one(kafka.listener, fetch("events", 4))
    records = decode_records(bytes(body.responses[0].partitions[0].records))
    assert 4 in [r.offset for r in records]
    assert all(r.offset >= len(first) for r in records)


# -- 4. Pipelining ---------------------------------------------------------------------------


async def test_pipelined_requests_are_answered_in_order(kafka: Kafka) -> None:
    await one(kafka.listener, metadata("quiet"))  # an empty topic to long-poll on
    slow = fetch("quiet", 0, max_wait_ms=300)  # waits for data that never comes
    quick = api_versions(3)
    third = metadata("quiet", auto_create=False)
    loop = asyncio.get_running_loop()
    started = loop.time()
    answers = await exchange(kafka.listener, slow, quick, third)
    assert loop.time() - started >= 0.25  # the fetch did wait
    assert [a.correlation_id for a in answers] == [
        slow.correlation_id, quick.correlation_id, third.correlation_id]
    assert answers[0].body.responses[0].partitions[0].error_code == ErrorCode.none
    assert answers[1].body.error_code == ErrorCode.none
    assert answers[2].body.topics[0].name == "quiet"


async def test_pipelined_produces_to_one_partition_are_appended_in_request_order(
    kafka: Kafka,
) -> None:
    # A producer with several requests in flight (the first one auto-creates the topic).
    sent = [produce("stream", batch([(None, str(i).encode(), [], T0 + i)]), acks=1)
            for i in range(5)]
    answers = await exchange(kafka.listener, *sent)
    assert [a.correlation_id for a in answers] == [s.correlation_id for s in sent]
    assert [int(a.body.responses[0].partition_responses[0].base_offset) for a in answers] == [
        0, 1, 2, 3, 4]
    # Read back as a consumer does: fetch from the next offset until all five are there.
    records: list[tuple[int, bytes | None]] = []
    for _ in range(10):
        body = await one(kafka.listener, fetch("stream", len(records), max_wait_ms=2_000))
        p = body.responses[0].partitions[0]
        assert p.error_code == ErrorCode.none
        records += [(r.offset, r.value) for r in decode_records(bytes(p.records))
                    if r.offset >= len(records)]
        if len(records) >= 5:
            break
    assert records == [(i, str(i).encode()) for i in range(5)]


# -- 5. The catalogue down ---------------------------------------------------------------


async def test_catalogue_failure_answers_storage_error_and_keeps_the_connection(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await one(kafka.listener, metadata("ledger"))
    assert created.topics[0].error_code == ErrorCode.none

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("the catalogue's connection was reset")

    # A raw driver error (as asyncpg raises when PostgreSQL goes away) is the catalogue
    # being unavailable: the retriable KAFKA_STORAGE_ERROR, and the connection goes on.
    monkeypatch.setattr(kafka.broker.fetch, "list_offset", down)
    offsets, after = list_offsets("ledger"), api_versions(3)
    answers = await exchange(kafka.listener, offsets, after)
    monkeypatch.undo()

    assert [a.correlation_id for a in answers] == [offsets.correlation_id, after.correlation_id]
    [topic] = answers[0].body.topics
    assert topic.name == "ledger"
    [partition] = topic.partitions
    assert partition.error_code == ErrorCode.kafka_storage_error
    assert int(partition.error_code) == 56
    assert partition.error_code.retriable
    assert answers[1].body.error_code == ErrorCode.none
    assert answers[1].body.api_keys


async def test_metadata_the_catalogue_cannot_answer_closes_the_connection(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metadata is the one request a catalogue outage still answers by closing: clients
    reconnect and refresh elsewhere (answering LEADER_NOT_AVAILABLE duplicated a
    handed-over batch in durability drill 4b; protocol/listener.py says more)."""
    await one(kafka.listener, metadata("ledger"))

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise CatalogueUnavailable("down")

    monkeypatch.setattr(kafka.broker.catalogue, "partition_leases", down)
    # Within a second of the last read Metadata answers from memory, outage or not.
    assert (await one(kafka.listener, metadata("ledger"))).topics[0].error_code == 0
    kafka.broker.logs.leases = None  # the snapshot is older than a second
    writer = await serve(kafka.listener, metadata("ledger").frame + api_versions(3).frame)
    assert bytes(writer.data) == b"" and writer.closed


# -- 6. A handler bug ----------------------------------------------------------------------


async def test_handler_bug_answers_unknown_server_error_per_entity_and_goes_on(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    await one(kafka.listener, metadata("books"))

    async def bug(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(kafka.broker.fetch, "list_offset", bug)
    monkeypatch.setattr(kafka.broker.topics, "create", bug)
    offsets = list_offsets("books")
    create = create_topics("novels", partitions=2, configs={}, validate_only=False)
    after = api_versions(3)
    answers = await exchange(kafka.listener, offsets, create, after)
    monkeypatch.undo()

    assert [a.correlation_id for a in answers] == [
        offsets.correlation_id, create.correlation_id, after.correlation_id]
    [t] = answers[0].body.topics
    assert t.name == "books"
    [p] = t.partitions
    assert int(p.partition_index) == 0
    assert p.error_code == ErrorCode.unknown_server_error
    assert int(p.error_code) == -1
    [ct] = answers[1].body.topics
    assert ct.name == "novels"
    assert ct.error_code == ErrorCode.unknown_server_error
    assert answers[2].body.error_code == ErrorCode.none


# -- 7. Fetch of an unknown topic ----------------------------------------------------------


async def test_fetch_of_an_unknown_topic_answers_an_empty_record_set(kafka: Kafka) -> None:
    sent = fetch("ghost", 0)
    writer = await serve(kafka.listener, sent.frame)
    [raw] = split_frames(bytes(writer.data))
    body = decode_response(raw, FETCH, 12).body
    [t] = body.responses
    assert t.topic == "ghost"
    [p] = t.partitions
    assert p.error_code == ErrorCode.unknown_topic_or_partition
    assert p.records is not None  # librdkafka fails the whole response on a null record set
    assert p.records == b""
    # Fetch does not create topics.
    meta = await one(kafka.listener, metadata("ghost", auto_create=False))
    assert meta.topics[0].error_code == ErrorCode.unknown_topic_or_partition


# -- 8. acks=0 -------------------------------------------------------------------------------


async def test_acks_zero_produce_sends_no_response(kafka: Kafka) -> None:
    await one(kafka.listener, metadata("fire"))
    fire = produce("fire", batch([(b"k", b"forget", [], T0)]), acks=0)
    after = api_versions(3)
    answers = await exchange(kafka.listener, fire, after)
    assert [a.correlation_id for a in answers] == [after.correlation_id]
    # The record was written all the same.
    body = await one(kafka.listener, fetch("fire", 0, max_wait_ms=2_000))
    p = body.responses[0].partitions[0]
    assert p.error_code == ErrorCode.none
    assert [(r.offset, r.value) for r in decode_records(bytes(p.records))] == [(0, b"forget")]


# -- 9. Malformed frames -------------------------------------------------------------------


@pytest.mark.parametrize("bad", [
    # A Metadata v12 header whose client id is null, then bytes that decode as nothing.
    struct.pack(">ihhi", 8 + 20, METADATA, 12, 4242) + b"\xff" * 20,
    # A size prefix too small for a request header.
    struct.pack(">i", 3) + b"abc",
], ids=["garbage-body", "short-frame"])
async def test_malformed_frame_closes_only_that_connection(kafka: Kafka, bad: bytes) -> None:
    before, after = api_versions(3), api_versions(3)
    # No EOF: the connection must end on its own, answering what came before.
    writer = await serve(kafka.listener, before.frame + bad + after.frame, eof=False,
                         timeout=3.0)
    answers = [decode_response(f, API_VERSIONS, 3) for f in split_frames(bytes(writer.data))]
    assert [a.correlation_id for a in answers] == [before.correlation_id]
    assert answers[0].body.error_code == ErrorCode.none
    # The broker goes on serving other connections.
    assert (await one(kafka.listener, api_versions(3))).error_code == ErrorCode.none


_HUGE_ARRAY_SCRIPT = r"""
import asyncio, struct, sys
from tests.unit.test_kafka_handlers import FakeWriter
from protocol.connection import Connection

async def main() -> None:
    # Metadata v12: header (key, version, correlation, client id "a", no tags), then the
    # topics compact array announcing 2**32 - 2 entries in a 17-byte frame.
    payload = struct.pack(">hhih", 3, 12, 7, 1) + b"a" + b"\x00" + b"\xff\xff\xff\xff\x0f"
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">i", len(payload)) + payload)
    writer = FakeWriter()

    async def dispatch(request, conn):
        raise AssertionError("a malformed frame was dispatched")

    conn = Connection(reader, writer, dispatch=dispatch, unsupported=lambda exc: None,
                      supported={3: (0, 12)}, max_frame_bytes=1 << 20)
    await asyncio.wait_for(conn.serve(), 5)
    print("closed" if writer.closed else "open")

asyncio.run(main())
"""


def test_frame_announcing_a_huge_array_closes_the_connection_not_the_process() -> None:
    """A 17-byte Metadata frame whose topics array claims 2**32-2 entries must be refused as
    malformed (this connection closes); it must not take the whole broker down."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _HUGE_ARRAY_SCRIPT], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (
        f"the broker process died (exit {proc.returncode}) on one malformed frame:\n"
        f"{proc.stderr[:400]}")
    assert proc.stdout.strip().splitlines()[-1] == "closed"


async def test_a_connection_reads_no_further_past_its_in_flight_bytes(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Requests not yet answered hold their frames: past MAX_IN_FLIGHT_BYTES of them the
    connection reads nothing more until one is answered (the client is pushed back by TCP),
    and a request larger than the bound on its own still goes through."""
    from protocol import connection as connection_module

    sent = [api_versions(3) for _ in range(4)]
    size = len(sent[0].frame) - 4
    monkeypatch.setattr(connection_module, "MAX_IN_FLIGHT_BYTES", 2 * size)
    release = asyncio.Event()
    dispatched: list[int] = []

    async def dispatch(request: Any, conn: Connection) -> bytes:
        dispatched.append(request.correlation_id)
        await release.wait()
        return b""

    reader = asyncio.StreamReader()
    reader.feed_data(b"".join(s.frame for s in sent))
    reader.feed_eof()
    writer = FakeWriter()
    conn = Connection(reader, writer,  # type: ignore[arg-type]
                      dispatch=dispatch, unsupported=lambda exc: None,
                      supported={API_VERSIONS: (0, 3)}, max_frame_bytes=1 << 20)
    served = asyncio.create_task(conn.serve())
    for _ in range(20):
        await asyncio.sleep(0)
    assert dispatched == [s.correlation_id for s in sent[:2]], "read past the byte bound"
    release.set()
    await asyncio.wait_for(served, 5)
    assert dispatched == [s.correlation_id for s in sent]

    # One frame over the whole bound is still served, alone.
    monkeypatch.setattr(connection_module, "MAX_IN_FLIGHT_BYTES", size // 2)
    assert (await one(kafka.listener, api_versions(3))).error_code == ErrorCode.none


# -- 10. CreateTopics validate_only ------------------------------------------------------


async def test_create_topics_validate_only_creates_nothing(kafka: Kafka) -> None:
    body = await one(kafka.listener, create_topics(
        "planned", partitions=3, configs={"retention.ms": "3600000"}, validate_only=True))
    [t] = body.topics
    assert t.name == "planned"
    assert t.error_code == ErrorCode.none, t.error_message
    assert int(t.num_partitions) == 3
    assert int(t.replication_factor) == 1
    assert t.configs is not None
    configs = {c.name: (c.value, int(c.config_source)) for c in t.configs}
    assert configs["retention.ms"] == ("3600000", 1)  # TOPIC_CONFIG: the override asked
    assert configs["cleanup.policy"] == ("delete", 5)  # DEFAULT_CONFIG

    meta = await one(kafka.listener, metadata("planned", auto_create=False))
    assert meta.topics[0].error_code == ErrorCode.unknown_topic_or_partition

    # Created for real, the same request answers the same and the topic exists.
    body = await one(kafka.listener, create_topics(
        "planned", partitions=3, configs={"retention.ms": "3600000"}, validate_only=False))
    assert body.topics[0].error_code == ErrorCode.none
    assert body.topics[0].topic_id not in (None, ZERO_UUID)
    meta = await one(kafka.listener, metadata("planned", auto_create=False))
    assert meta.topics[0].error_code == ErrorCode.none
    assert len(meta.topics[0].partitions) == 3


async def test_a_failed_acks_zero_produce_closes_the_connection_unanswered(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """acks=0 expects no answer: a produce that fails as a whole closes the connection (as
    Kafka does), so the client notices, instead of getting an answer it cannot place."""
    async def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(kafka.broker.produce, "produce", broken)
    sent = produce("t", batch([(b"k", b"v", [], T0)]), acks=0)
    writer = await serve(kafka.listener, sent.frame + api_versions().frame)
    assert bytes(writer.data) == b""  # neither the produce nor anything after it is answered


async def test_pipelined_produces_stay_in_order_while_quota_limits_are_reloaded(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With quotas set, their limits are reloaded from the catalogue every few seconds.
    That reload must never suspend a produce before its append: pipelined requests of one
    connection would then be appended out of order, and an idempotent producer's next
    sequence refused (seen in the cluster ride-through test)."""
    from broker.context import RequestContext
    from broker.tenants import PLATFORM_ADMIN
    from broker.types import DEFAULT_ORG

    ctx = RequestContext(principal=PLATFORM_ADMIN, org_id=DEFAULT_ORG, door="internal")
    await kafka.broker.quotas.set(ctx, "", "storage_bytes", 1e12)
    await one(kafka.listener, produce("ordered", batch([(None, b"first", [], T0)]), acks=1))
    slow_store = kafka.broker.quotas.store

    delays = iter([0.2, 0.15, 0.1, 0.05, 0.01, 0.0, 0.0, 0.0])

    async def slow_all(org_id: str) -> dict[tuple[str, str], float]:
        await asyncio.sleep(next(delays, 0.0))  # catalogue round trips that end out of order
        return {("", "storage_bytes"): 1e12}

    monkeypatch.setattr(slow_store, "all", slow_all)
    kafka.broker.quotas._limits.clear()  # stale: every request would want a reload
    sent = [produce("ordered", batch([(None, str(i).encode(), [], T0 + i)]), acks=1)
            for i in range(5)]
    answers = await exchange(kafka.listener, *sent)
    assert [int(a.body.responses[0].partition_responses[0].base_offset) for a in answers] == [
        1, 2, 3, 4, 5]


# -- 8. Costs that must not grow with the number of topics --------------------------------


class QueryCounter:
    """Counts the statements the catalogue's driver runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, driver: Any) -> None:
        self.count = 0
        for name in ("fetch", "fetchrow", "execute"):  # outside transactions
            original = getattr(driver, name)

            async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.count += 1

                return await _original(*args, **kwargs)

            monkeypatch.setattr(driver, name, counted)


async def _metadata_queries(kafka: Kafka, monkeypatch: pytest.MonkeyPatch, names: list[str],
                            *, all_topics: bool) -> int:
    ctx = RequestContext.anonymous("internal")
    for name in names:
        if await kafka.broker.topics.get(ctx, name) is None:
            await kafka.broker.topics.create(ctx, name, 2)
    await one(kafka.listener, metadata(*names))  # opens what a first request opens
    for task in kafka.broker.logs._tasks:  # the lease keeper's and watcher's own queries
        task.cancel()
    await asyncio.gather(*kafka.broker.logs._tasks, return_exceptions=True)
    kafka.broker.logs.leases = None  # as if the lease keeper's read were old
    kafka.broker.cluster._live = None
    with monkeypatch.context() as m:
        counter = QueryCounter(m, kafka.broker.catalogue.driver)
        sent = request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                      "include_topic_authorized_operations": False}) \
            if all_topics else metadata(*names)
        answer = await one(kafka.listener, sent)
    assert {t.name for t in answer.topics} >= set(names)
    assert all(t.error_code == 0 and len(t.partitions) == 2 for t in answer.topics)
    return counter.count


@pytest.mark.parametrize("all_topics", [True, False])
async def test_metadata_costs_the_same_number_of_queries_for_5_or_60_topics(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch, all_topics: bool
) -> None:
    few = await _metadata_queries(kafka, monkeypatch, [f"t{i}" for i in range(5)],
                                  all_topics=all_topics)
    many = await _metadata_queries(kafka, monkeypatch, [f"t{i}" for i in range(60)],
                                   all_topics=all_topics)
    assert many == few <= 4, (few, many)


async def test_the_topic_list_costs_the_same_number_of_queries_for_5_or_60_topics(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The REST topic list (and the console's): topics and partitions in bulk."""
    ctx = RequestContext.anonymous("internal")
    counts = []
    for n in (5, 60):
        for i in range(n):
            if await kafka.broker.topics.get(ctx, f"l{i}") is None:
                await kafka.broker.topics.create(ctx, f"l{i}", 3)
        for task in kafka.broker.logs._tasks:
            task.cancel()
        await asyncio.gather(*kafka.broker.logs._tasks, return_exceptions=True)
        with monkeypatch.context() as m:
            counter = QueryCounter(m, kafka.broker.catalogue.driver)
            listed = await kafka.broker.topics.describe_all(ctx)
        assert len(listed) == n and all(len(d.partitions) == 3 for d in listed)
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 2, counts


async def test_a_partition_added_through_another_agent_is_looked_up_before_unknown(
    kafka: Kafka,
) -> None:
    """The topic cache says 1 partition; the catalogue (another agent's CreatePartitions)
    says 3: a produce to partition 2 looks the topic up instead of answering UNKNOWN."""
    ctx = RequestContext.anonymous("internal")
    await kafka.broker.topics.create(ctx, "grown", 1)
    await kafka.broker.catalogue.set_partition_count("grown", 3, leader=kafka.broker.agent.id,
                                                     lease_ttl_ms=60_000)
    cached = await kafka.broker.topics.get(ctx, "grown")
    assert cached is not None and cached.partition_count == 1  # stale, as on another agent
    answer = await one(kafka.listener, produce("grown", build_batch([(b"k", b"v", [], T0)]),
                                                partition=2))
    assert answer.responses[0].partition_responses[0].error_code == 0
    # And the watcher reloads the cache from the catalogue's topics version.
    assert await kafka.broker.logs.sync_topics()
    fresh = await kafka.broker.topics.get(ctx, "grown")
    assert fresh is not None and fresh.partition_count == 3


async def test_forwarding_to_a_slow_leader_is_bounded_per_agent(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Record sets forwarded to another agent hold credits until answered: past
    FORWARD_CREDITS in flight to one leader, the next is refused at once (retriable
    NOT_LEADER_OR_FOLLOWER) instead of queueing behind it; an answer gives a credit back."""
    from broker import produce as produce_module
    from broker.tenants import PLATFORM_ADMIN
    from broker.types import DEFAULT_ORG, AgentId

    monkeypatch.setattr(produce_module, "FORWARD_CREDITS", 2)
    produce = kafka.broker.produce
    ctx = RequestContext(principal=PLATFORM_ADMIN, org_id=DEFAULT_ORG, door="internal")
    topic = await kafka.broker.topics.create(ctx, "fwd", partitions=1)
    slow = Agent(id=AgentId("a2"), broker_id=2, host="127.0.0.1", port=1, rack=None,
                 group="default", started_at=0, heartbeat_at=0)

    async def leader(_topic: Any, _partition: int) -> Agent:
        return slow

    answer = asyncio.Event()

    async def peer_produce(agent: Agent, *args: Any, acks: int) -> int:
        await answer.wait()
        return 7

    monkeypatch.setattr(produce, "_leader", leader)
    monkeypatch.setattr(kafka.broker.peers, "produce", peer_produce)
    records = batch([(None, b"v", [], T0)])
    waiting = [asyncio.create_task(produce.forward(ctx, topic, 0, records, acks=-1))
               for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(errors.NotLeaderOrFollower, match="2 record sets .* not yet answered"):
        await produce.forward(ctx, topic, 0, records, acks=-1)
    answer.set()
    assert await asyncio.gather(*waiting) == [7, 7]
    assert await produce.forward(ctx, topic, 0, records, acks=-1) == 7


async def test_all_or_nothing_produce_checks_every_partition_credit_before_any_append(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REST's produce writes all of its partitions or none: a partition over its share of
    the write buffer refuses the whole request before the others are appended."""
    import dataclasses

    from broker.tenants import PLATFORM_ADMIN
    from broker.types import DEFAULT_ORG

    ctx = RequestContext(principal=PLATFORM_ADMIN, org_id=DEFAULT_ORG, door="internal")
    topic = await kafka.broker.topics.create(ctx, "both", partitions=2)
    buffer = kafka.broker.logs.buffer
    monkeypatch.setattr(buffer, "policy", dataclasses.replace(
        buffer.policy, max_buffer_bytes=10_000, partition_buffer_share=0.5))
    hot = await kafka.broker.logs.partition(topic, 1)
    hot.buffered_bytes = 4_990  # as if its earlier batches still waited for a flush
    records = batch([(None, b"v" * 100, [], T0)])
    with pytest.raises(errors.Backpressure, match="both-1 holds 4990 bytes"):
        await kafka.broker.produce.produce(
            ctx, [("both", [(0, records), (1, records)])], acks=1, timeout_s=5,
            all_or_nothing=True)
    cold = await kafka.broker.logs.partition(topic, 0)
    assert cold.next_offset == 0, "partition 0 was written though the request was refused"
    hot.buffered_bytes = 0
