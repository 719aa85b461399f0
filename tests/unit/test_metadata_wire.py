"""The hand-written Metadata and Produce encoders write exactly kio's bytes, for every
version."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from protocol.build import build
from protocol.codec import encode_response, response_class
from protocol.metadata_wire import encode_metadata, encode_produce


def sample(version: int) -> dict[str, Any]:
    return {
        "throttle_time": datetime.timedelta(milliseconds=7),
        "brokers": [{"node_id": 1, "host": "a1.example", "port": 9092, "rack": "r1"},
                    {"node_id": 2, "host": "ä2", "port": 19092, "rack": None}],
        "cluster_id": "streamhouse",
        "controller_id": 1,
        "cluster_authorized_operations": 0b1010,
        "topics": [
            {"error_code": 0, "name": "orders", "topic_id": uuid.uuid4(), "is_internal": False,
             "topic_authorized_operations": -(2**31),
             "partitions": [
                 {"error_code": 0, "partition_index": i, "leader_id": 1 + i % 2,
                  "leader_epoch": 3 + i, "replica_nodes": [1 + i % 2], "isr_nodes": [1 + i % 2],
                  "offline_replicas": []} for i in range(3)]},
            {"error_code": 5, "name": "no-leader", "topic_id": uuid.uuid4(), "is_internal": True,
             "topic_authorized_operations": 264,
             "partitions": [{"error_code": 5, "partition_index": 0, "leader_id": -1,
                             "leader_epoch": -1, "replica_nodes": [], "isr_nodes": [],
                             "offline_replicas": [7, 8]}]},
            {"error_code": 3, "name": None if version >= 12 else "gone", "partitions": [],
             "topic_id": None},
        ],
    }


@pytest.mark.parametrize("version", range(13))
def test_the_same_bytes_as_kio(version: int) -> None:
    body = sample(version)
    expected = encode_response(3, version, 4242,
                               build(response_class(3, version), dict(body)))
    assert encode_metadata(version, 4242, body) == expected


def test_an_empty_cluster() -> None:
    body = {"throttle_time": 0, "brokers": [], "cluster_id": None, "controller_id": -1,
            "topics": []}
    for version in range(13):
        expected = encode_response(3, version, 1, build(response_class(3, version), dict(body)))
        assert encode_metadata(version, 1, body) == expected, version


def produce_sample() -> dict[str, Any]:
    at = datetime.datetime.fromtimestamp(1_700_000_000.123, datetime.UTC)
    return {"throttle_time": 12, "responses": [
        {"name": "orders", "partition_responses": [
            {"index": 0, "error_code": 0, "base_offset": 42, "log_start_offset": 0,
             "record_errors": []},
            {"index": 1, "error_code": 0, "base_offset": 7, "log_start_offset": 3,
             "record_errors": [], "log_append_time": at},
            {"index": 2, "error_code": 87, "base_offset": -1, "log_start_offset": -1,
             "error_message": "bad record",
             "record_errors": [{"batch_index": 3, "batch_index_error_message": "crc"},
                               {"batch_index": 4, "batch_index_error_message": None}]}]},
        {"name": "ü", "partition_responses": [
            {"index": 5, "error_code": 6, "base_offset": -1, "log_start_offset": -1,
             "error_message": None, "record_errors": []}]},
    ]}


@pytest.mark.parametrize("version", range(3, 12))
def test_produce_the_same_bytes_as_kio(version: int) -> None:
    body = produce_sample()
    expected = encode_response(0, version, 77, build(response_class(0, version), dict(body)))
    assert encode_produce(version, 77, body) == expected
