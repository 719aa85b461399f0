import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.codec import DecodeError, UnsupportedApi, decode_request
from protocol.framing import FrameError, FrameReader
from protocol.registry import MODULES

SUPPORTED = {k: v for m in MODULES for k, v in m.VERSIONS.items()}


def test_frames_split_across_reads():
    reader = FrameReader(1000)
    payload = b"\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00"
    frame = struct.pack(">i", len(payload)) + payload
    reader.feed(frame[:3])
    assert reader.next_frame() is None
    reader.feed(frame[3:] + frame)
    assert reader.next_frame() == payload
    assert reader.next_frame() == payload
    assert reader.next_frame() is None


def test_oversized_and_negative_frames_are_refused():
    reader = FrameReader(100)
    reader.feed(struct.pack(">i", 101))
    with pytest.raises(FrameError, match="exceeds"):
        reader.next_frame()
    reader = FrameReader(100)
    reader.feed(struct.pack(">i", -5))
    with pytest.raises(FrameError):
        reader.next_frame()


def test_unknown_api_key_and_version():
    with pytest.raises(UnsupportedApi) as info:
        decode_request(struct.pack(">hhi", 999, 0, 7) + b"\x00\x00", SUPPORTED)
    assert info.value.correlation_id == 7
    with pytest.raises(UnsupportedApi):
        decode_request(struct.pack(">hhi", 0, 99, 1) + b"\x00\x00", SUPPORTED)


@given(st.binary(min_size=8, max_size=200))
@settings(max_examples=500, deadline=None)
def test_garbage_requests_give_a_clean_error(blob):
    try:
        decode_request(blob, SUPPORTED)
    except (DecodeError, UnsupportedApi):
        pass


@given(st.sampled_from(sorted(SUPPORTED)), st.binary(max_size=120))
@settings(max_examples=500, deadline=None)
def test_garbage_bodies_of_known_apis(api_key, body):
    lo, hi = SUPPORTED[api_key]
    for version in {lo, hi}:
        try:
            decode_request(struct.pack(">hhi", api_key, version, 1) + body, SUPPORTED)
        except (DecodeError, UnsupportedApi):
            pass
