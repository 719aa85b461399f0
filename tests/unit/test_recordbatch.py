import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.recordbatch import (
    HEADER_SIZE,
    InvalidBatch,
    build_batch,
    decode_records,
    scan_headers,
    set_base_offset,
    set_log_append_time,
    validate_record_set,
)

records = st.lists(
    st.tuples(
        st.one_of(st.none(), st.binary(max_size=40)),
        st.one_of(st.none(), st.binary(max_size=200)),
        st.lists(
            st.tuples(st.text(max_size=10), st.one_of(st.none(), st.binary(max_size=20))),
            max_size=3,
        ),
        st.integers(min_value=0, max_value=2**41),
    ),
    min_size=1,
    max_size=20,
)


@given(records, st.sampled_from([0, 1, 2, 3, 4]), st.integers(0, 2**40))
@settings(max_examples=80, deadline=None)
def test_round_trip_every_codec(recs, codec, base):
    data = build_batch([(k, v, h, t) for k, v, h, t in recs], base_offset=base, compression=codec)
    [header] = validate_record_set(data)
    assert header.records_count == len(recs)
    assert header.compression == codec
    assert header.last_offset == base + len(recs) - 1
    out = decode_records(data)
    assert [(r.key, r.value, list(r.headers), r.timestamp) for r in out] == [
        (k, v, h, t) for k, v, h, t in recs
    ]
    assert [r.offset for r in out] == list(range(base, base + len(recs)))


def test_base_offset_rewrite_keeps_crc_valid():
    data = bytearray(build_batch([(b"k", b"v", [], 1), (None, b"w", [], 2)]))
    set_base_offset(data, 0, 1234)
    [header] = validate_record_set(data)
    assert header.base_offset == 1234
    assert [r.offset for r in decode_records(bytes(data))] == [1234, 1235]


def test_log_append_time_rewrites_crc():
    data = bytearray(build_batch([(b"k", b"v", [], 1)]))
    [header] = validate_record_set(data)
    set_log_append_time(data, header, 999_999)
    [after] = validate_record_set(data)
    assert after.max_timestamp == 999_999
    assert decode_records(bytes(data))[0].timestamp == 999_999


def test_several_batches_in_one_record_set():
    data = build_batch([(b"a", b"1", [], 1)]) + build_batch([(b"b", b"2", [], 2)] * 3)
    headers = validate_record_set(data)
    assert [h.records_count for h in headers] == [1, 3]
    assert headers[1].position == headers[0].size
    assert scan_headers(data) == headers


def test_bad_crc_is_detected():
    data = bytearray(build_batch([(b"k", b"value", [], 1)]))
    data[-1] ^= 0xFF
    with pytest.raises(InvalidBatch, match="CRC"):
        validate_record_set(data)


def test_wrong_magic_and_truncation():
    data = bytearray(build_batch([(b"k", b"v", [], 1)]))
    bad = bytearray(data)
    bad[16] = 1
    with pytest.raises(InvalidBatch, match="magic"):
        validate_record_set(bad)
    with pytest.raises(InvalidBatch):
        validate_record_set(data[:-3])
    with pytest.raises(InvalidBatch):
        validate_record_set(data[: HEADER_SIZE - 1])
    with pytest.raises(InvalidBatch):
        validate_record_set(b"")


def test_batch_length_shorter_than_header():
    data = bytearray(build_batch([(b"k", b"v", [], 1)]))
    struct.pack_into(">i", data, 8, 10)
    with pytest.raises(InvalidBatch):
        validate_record_set(data)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_garbage_gives_a_clean_error(blob):
    try:
        validate_record_set(blob)
    except InvalidBatch:
        pass
