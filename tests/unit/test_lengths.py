"""Every length in a request frame is checked against the frame before kio decodes it:
kio reserves memory from announced counts, and a failed reservation aborts the process."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.static.primitive import Records

from protocol.build import build
from protocol.codec import DecodeError, _writer, decode_request, request_class
from protocol.lengths import LengthError, check_request
from protocol.registry import MODULES

# Record sets are opaque bytes to kio (nullable).
st.register_type_strategy(Records, st.one_of(st.none(), st.binary(max_size=64)))  # type: ignore[type-abstract]

SUPPORTED = {k: v for m in MODULES for k, v in m.VERSIONS.items()}
CLASSES = [
    (key, version, request_class(key, version))
    for key, (lo, hi) in sorted(SUPPORTED.items())
    for version in range(lo, hi + 1)
]


def frame_of(key: int, version: int, cls: Any, body: Any) -> bytes:
    out = io.BytesIO()
    header_cls = cls.__header_schema__
    _writer(header_cls)(out, build(header_cls, {
        "request_api_key": key, "request_api_version": version, "correlation_id": 7,
        "client_id": "test"}))
    _writer(cls)(out, body)
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_well_formed_request_passes_and_decodes(data: st.DataObject) -> None:
    key, version, cls = data.draw(st.sampled_from(CLASSES))
    body = data.draw(st.from_type(cls))
    frame = frame_of(key, version, cls, body)
    check_request(cls, frame)  # never refuses what a client may send
    try:
        decoded = decode_request(frame, SUPPORTED)
    except DecodeError as exc:
        # kio itself cannot read back some values its strategies make (a timedelta past
        # the i64 range of milliseconds); the length check is never the reason.
        assert not isinstance(exc.__cause__, LengthError)
        return
    assert decoded.body == body


def test_a_huge_announced_array_is_refused_before_kio_sees_it() -> None:
    # Metadata v12, a valid header, then a topics array announcing 2^32-2 entries.
    header = struct.pack(">hhih", 3, 12, 1, 4) + b"test" + b"\x00"
    frame = header + b"\xff\xff\xff\xff\x0f"
    with pytest.raises(LengthError, match="the array length of 4294967294 exceeds"):
        check_request(request_class(3, 12), frame)
    with pytest.raises(DecodeError):
        decode_request(frame, SUPPORTED)


def test_a_legacy_string_longer_than_the_frame_is_refused() -> None:
    # Metadata v1 (not flexible): topics array of 1, then a name announcing 30000 bytes.
    frame = struct.pack(">hhih", 3, 1, 1, 0) + struct.pack(">ih", 1, 30000) + b"abc"
    with pytest.raises(LengthError, match="the string length of 30000"):
        check_request(request_class(3, 1), frame)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_frame_is_refused_cleanly(data: st.DataObject) -> None:
    """Truncated or overwritten bytes give a DecodeError or a request, nothing else."""
    key, version, cls = data.draw(st.sampled_from(CLASSES))
    frame = bytearray(frame_of(key, version, cls, data.draw(st.from_type(cls))))
    cut = data.draw(st.integers(8, len(frame)))
    damaged = frame[:cut]
    if len(damaged) > 8:
        at = data.draw(st.integers(8, len(damaged) - 1))
        damaged[at] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
    try:
        decode_request(bytes(damaged), SUPPORTED)
    except DecodeError:
        pass
