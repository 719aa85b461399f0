"""`protocol.build.build`: kio messages from nested dicts, with keys checked against every
version of the message (no network)."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode
from kio.schema.fetch.v12.response import FetchResponse as FetchResponseV12
from kio.schema.fetch.v12.response import PartitionData as FetchPartitionV12
from kio.schema.produce.v3.response import PartitionProduceResponse as PartitionV3
from kio.schema.produce.v3.response import ProduceResponse as ProduceResponseV3
from kio.schema.produce.v9.response import PartitionProduceResponse as PartitionV9
from kio.schema.produce.v9.response import ProduceResponse as ProduceResponseV9
from kio.schema.produce.v9.response import TopicProduceResponse as TopicV9
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2

from protocol.build import UnknownField, build, has_field


def _all_versions_fields(family: str, direction: str, name: str) -> frozenset[str]:
    """The oracle, written apart from `build`'s own: every field of `name` in every version."""
    out: set[str] = set()
    for n in range(64):
        try:
            module = importlib.import_module(f"{family}.v{n}.{direction}")
        except ModuleNotFoundError:
            continue
        cls = getattr(module, name, None)
        if cls is not None:
            out.update(f.name for f in dataclasses.fields(cls))
    return frozenset(out)


PRODUCE_RESPONSE = _all_versions_fields("kio.schema.produce", "response", "ProduceResponse")
TOPIC = _all_versions_fields("kio.schema.produce", "response", "TopicProduceResponse")
PARTITION = _all_versions_fields("kio.schema.produce", "response", "PartitionProduceResponse")


def produce_body(**partition: Any) -> dict[str, Any]:
    """A Produce response as the handler describes it, for any version."""
    return {
        "throttle_time": 0,
        "responses": [{"name": "t", "partition_responses": [{
            "index": 0, "error_code": 0, "base_offset": 5, "log_append_time": None,
            "log_start_offset": 0, "record_errors": [], "error_message": None, **partition,
        }]}],
    }


def test_oracle_sees_the_versions() -> None:
    assert {"index", "error_code", "error_message", "record_errors", "current_leader"} <= PARTITION
    assert "node_endpoints" in PRODUCE_RESPONSE


def test_misspelled_top_level_key_raises() -> None:
    body = produce_body()
    body["throtle_time"] = body.pop("throttle_time")
    with pytest.raises(UnknownField) as info:
        build(ProduceResponseV9, body)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.cls is ProduceResponseV9
    assert err.key == "throtle_time"
    assert err.known == tuple(sorted(PRODUCE_RESPONSE))
    message = str(err)
    assert "kio.schema.produce.v9.response.ProduceResponse" in message
    assert "'throtle_time'" in message
    assert ", ".join(sorted(PRODUCE_RESPONSE)) in message


def test_misspelled_nested_key_raises() -> None:
    body = produce_body()
    partition = body["responses"][0]["partition_responses"][0]
    partition["eror_code"] = partition.pop("error_code")
    with pytest.raises(UnknownField) as info:
        build(ProduceResponseV9, body)
    assert info.value.cls is PartitionV9
    assert info.value.key == "eror_code"
    assert info.value.known == tuple(sorted(PARTITION))
    assert "PartitionProduceResponse" in str(info.value)


def test_misspelled_key_raises_in_an_old_version_too() -> None:
    with pytest.raises(UnknownField, match="eror_code"):
        build(ProduceResponseV3, produce_body(eror_code=3))


def test_key_of_the_other_direction_raises() -> None:
    # `acks` is a field of ProduceRequest, never of ProduceResponse.
    with pytest.raises(UnknownField, match="'acks'"):
        build(ProduceResponseV9, {**produce_body(), "acks": -1})


def test_key_of_a_newer_version_is_dropped() -> None:
    # error_message, log_start_offset and record_errors come in later than v3; current_leader
    # (an entity) in v10, node_endpoints in v10.
    assert not has_field(PartitionV3, "error_message")
    assert has_field(PartitionV9, "error_message")
    body = produce_body(
        error_message="boom", current_leader={"leader_id": 1, "leader_epoch": 2}
    )
    body["node_endpoints"] = [{"node_id": 1, "host": "h", "port": 9092, "rack": None}]
    response = build(ProduceResponseV3, body)
    assert isinstance(response, ProduceResponseV3)
    (partition,) = response.responses[0].partition_responses
    assert isinstance(partition, PartitionV3)
    assert (partition.index, partition.base_offset) == (0, 5)
    assert not hasattr(partition, "error_message")
    # And the same description keeps them for a version that has them.
    (partition9,) = build(ProduceResponseV9, body).responses[0].partition_responses
    assert partition9.error_message == "boom"


def test_defaults_are_filled() -> None:
    response = build(ProduceResponseV9, {"responses": [{"name": "t", "partition_responses": [
        {"index": 2}]}]})
    assert response.throttle_time == datetime.timedelta(0)
    (partition,) = response.responses[0].partition_responses
    assert partition.index == 2
    assert partition.error_code is ErrorCode.none
    assert partition.base_offset == 0
    assert partition.log_append_time is None
    assert partition.log_start_offset == -1  # the schema's default, not zero
    assert partition.record_errors == ()
    assert partition.error_message is None
    # Nested entities not given are built from their defaults.
    fetched = build(FetchPartitionV12, {"partition_index": 0})
    assert fetched.diverging_epoch.epoch == -1
    assert fetched.current_leader.leader_id == -1
    assert fetched.records is None
    assert build(FetchResponseV12, {}).responses == ()


def test_error_code_ints_become_error_codes() -> None:
    response = build(ProduceResponseV9, produce_body(error_code=3))
    (partition,) = response.responses[0].partition_responses
    assert partition.error_code is ErrorCode.unknown_topic_or_partition
    top = build(FetchResponseV12, {"error_code": 0})
    assert top.error_code is ErrorCode.none
    passed = build(FetchResponseV12, {"error_code": ErrorCode.not_controller})
    assert passed.error_code is ErrorCode.not_controller
    assert build(FetchResponseV12, {"error_code": -1}).error_code is ErrorCode.unknown_server_error
    with pytest.raises(ValueError):
        build(FetchResponseV12, {"error_code": 12345})


def test_conversions_and_built_entities() -> None:
    topic = build(TopicV9, {"name": "t", "partition_responses": []})
    response = build(ProduceResponseV9, {"throttle_time": 250, "responses": (t for t in [topic])})
    assert response.throttle_time == datetime.timedelta(milliseconds=250)
    assert response.responses == (topic,)
    assert response.responses[0] is topic
    assert build(TopicV9, {"name": "t", "partition_responses": None}).partition_responses is None


def test_headers_are_checked_against_their_own_family() -> None:
    values = {"request_api_key": 0, "request_api_version": 9, "correlation_id": 7,
              "client_id": "c"}
    assert build(RequestHeaderV1, values).correlation_id == 7
    assert build(RequestHeaderV2, values).client_id == "c"
    with pytest.raises(UnknownField) as info:
        build(RequestHeaderV2, {**values, "corelation_id": 7})
    assert info.value.known == (
        "client_id", "correlation_id", "request_api_key", "request_api_version"
    )


def test_a_class_outside_kio_knows_its_own_fields() -> None:
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int = 0
        y: int = 0

    assert build(Point, {"x": 1}) == Point(1, 0)
    with pytest.raises(UnknownField) as info:
        build(Point, {"z": 1})
    assert info.value.known == ("x", "y")


LEVELS = {
    "top": (ProduceResponseV9, PRODUCE_RESPONSE),
    "topic": (TopicV9, TOPIC),
    "partition": (PartitionV9, PARTITION),
}


@settings(max_examples=200, deadline=None)
@given(
    level=st.sampled_from(sorted(LEVELS)),
    key=st.text(),
    value=st.none() | st.integers() | st.text() | st.lists(st.integers(), max_size=2),
    version=st.sampled_from([ProduceResponseV3, ProduceResponseV9]),
)
def test_keys_of_no_version_always_raise_unknown_field(
    level: str, key: str, value: Any, version: type
) -> None:
    cls, known = LEVELS[level]
    assume(key not in known)
    body = produce_body()
    target = {
        "top": body,
        "topic": body["responses"][0],
        "partition": body["responses"][0]["partition_responses"][0],
    }[level]
    target[key] = value
    with pytest.raises(UnknownField) as info:
        build(version, body)
    assert info.value.key == key
    assert info.value.cls.__name__ == cls.__name__
    assert info.value.known == tuple(sorted(known))
