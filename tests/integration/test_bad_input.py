"""Bad input gets the right answer or a closed connection, and never hurts the listener."""

import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.create_topics.v5.request import CreateTopicsRequest
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v9.request import MetadataRequest
from kio.schema.produce.v8.request import ProduceRequest

from storage.recordbatch import build_batch
from tests.wire import Wire


@pytest.fixture
def wire(server):
    w = Wire(server.bootstrap)
    yield w
    w.close()


def healthy(server) -> None:
    """A fresh connection still gets answers."""
    w = Wire(server.bootstrap)
    try:
        resp = w.call(
            ApiVersionsRequest, {"client_software_name": "t", "client_software_version": "1"}
        )
        assert resp.error_code == ErrorCode.none
    finally:
        w.close()


def create_topic(wire, name, partitions=1, config=None):
    resp = wire.call(
        CreateTopicsRequest,
        {
            "topics": [
                {
                    "name": name,
                    "num_partitions": partitions,
                    "replication_factor": 1,
                    "assignments": [],
                    "configs": [{"name": k, "value": v} for k, v in (config or {}).items()],
                }
            ],
            "timeout": 5000,
            "validate_only": False,
        },
    )
    assert resp.topics[0].error_code == ErrorCode.none, resp


def produce(wire, topic, partition, records, acks=-1):
    return wire.call(
        ProduceRequest,
        {
            "acks": acks,
            "timeout": 5000,
            "topic_data": [
                {"name": topic, "partition_data": [{"index": partition, "records": records}]}
            ],
        },
    )


def test_api_versions_of_an_unknown_version_answers_v0(server, wire):
    wire.correlation = 41
    payload = struct.pack(">hhi", 18, 99, 42) + struct.pack(">h", 1) + b"x"
    wire.send_raw(payload)
    frame = wire.read_frame()
    assert frame is not None
    correlation, error = struct.unpack_from(">ih", frame, 0)
    assert correlation == 42 and error == ErrorCode.unsupported_version
    (count,) = struct.unpack_from(">i", frame, 6)
    assert count >= 9


def test_unknown_api_key_closes_only_that_connection(server, wire):
    wire.send_raw(struct.pack(">hhi", 4242, 0, 1) + b"\x00\x00")
    assert wire.read_frame() is None
    healthy(server)
    assert "unsupported_api" in server.log() and "127.0.0.1:" in server.log()


def test_oversized_frame_is_refused(server_factory, tmp_path):
    s = server_factory(tmp_path / "small", extra=["--max-request-bytes", "1000"]).start()
    w = Wire(s.bootstrap)
    w.sock.sendall(struct.pack(">i", 5000) + b"\x00" * 100)
    assert w.read_frame() is None
    healthy(s)
    assert "exceeds the limit" in s.log()
    s.stop()


def test_truncated_frame_then_close(server):
    w = Wire(server.bootstrap)
    w.sock.sendall(struct.pack(">i", 100) + b"\x00\x03\x00\x09")
    w.close()
    healthy(server)


def test_bad_crc_is_corrupt_message(server, wire):
    create_topic(wire, "crc")
    data = bytearray(build_batch([(b"k", b"v", [], 1)]))
    data[-1] ^= 0x01
    resp = produce(wire, "crc", 0, bytes(data))
    part = resp.responses[0].partition_responses[0]
    assert part.error_code == ErrorCode.corrupt_message
    assert "CRC" in part.error_message
    ok = produce(wire, "crc", 0, build_batch([(b"k", b"v", [], 1)]))
    assert ok.responses[0].partition_responses[0].error_code == ErrorCode.none


def test_record_over_max_message_bytes(server, wire):
    create_topic(wire, "small", config={"max.message.bytes": "1000"})
    resp = produce(wire, "small", 0, build_batch([(None, b"x" * 5000, [], 1)]))
    part = resp.responses[0].partition_responses[0]
    assert part.error_code == ErrorCode.message_too_large
    assert "max.message.bytes" in part.error_message


def test_produce_to_a_partition_that_does_not_exist(server, wire):
    create_topic(wire, "two", partitions=2)
    resp = produce(wire, "two", 7, build_batch([(b"k", b"v", [], 1)]))
    assert (
        resp.responses[0].partition_responses[0].error_code == ErrorCode.unknown_topic_or_partition
    )


def test_invalid_acks(server, wire):
    resp = produce(wire, "acks", 0, build_batch([(b"k", b"v", [], 1)]), acks=5)
    assert resp.responses[0].partition_responses[0].error_code == ErrorCode.invalid_required_acks


def test_metadata_for_an_illegal_topic_name(server, wire):
    resp = wire.call(
        MetadataRequest,
        {
            "topics": [{"name": "bad name!"}],
            "allow_auto_topic_creation": True,
            "include_cluster_authorized_operations": False,
            "include_topic_authorized_operations": False,
        },
    )
    assert resp.topics[0].error_code == ErrorCode.invalid_topic_exception


@given(st.binary(min_size=0, max_size=64))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_garbage_frames_never_hurt_the_listener(server, garbage):
    w = Wire(server.bootstrap, timeout=5)
    try:
        w.send_raw(garbage)
        # A frame may be incomplete (the broker then waits for the rest, as Kafka does):
        # end the stream. Answers may come; then the broker must close, never hang.
        w.sock.shutdown(socket.SHUT_WR)
        for _ in range(100):
            if w.read_frame() is None:
                break
        else:
            raise AssertionError("the broker kept answering garbage")
    finally:
        w.close()
    healthy(server)
