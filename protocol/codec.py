"""Request decoding and response encoding with kio, readers and writers cached per class."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from functools import cache
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.response_header.v0.header import ResponseHeader as ResponseHeaderV0
from kio.schema.response_header.v1.header import ResponseHeader as ResponseHeaderV1
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i32

from .lengths import LengthError, check_request

API_VERSIONS_KEY = 18
_PREFIX = struct.Struct(">hhi")


class DecodeError(ValueError):
    """The request could not be decoded; the frame is not trustworthy."""


class UnsupportedApi(ValueError):
    def __init__(self, api_key: int, api_version: int, correlation_id: int) -> None:
        super().__init__(f"unsupported API key {api_key} version {api_version}")
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id


@dataclass(frozen=True, slots=True)
class Request:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body: Any
    frame: bytes = b""  # the request as received (an agent's signed request is checked on it)
    body_offset: int = 0
    peer_org: str | None = None  # set once an agent's signature is verified
    throttle_ms: int = 0  # charged against a quota as it was read


@cache
def request_class(api_key: int, api_version: int) -> type | None:
    try:
        return load_request_schema(api_key, api_version)
    except Exception:
        return None


@cache
def response_class(api_key: int, api_version: int) -> type:
    return load_response_schema(api_key, api_version)


@cache
def _reader(cls: type) -> Any:
    return entity_reader(cls)


@cache
def _writer(cls: type) -> Any:
    return entity_writer(cls)


def peek(frame: bytes) -> tuple[int, int, int]:
    """(api key, api version, correlation id) of a frame."""
    if len(frame) < _PREFIX.size:
        raise DecodeError("frame shorter than a request header")
    return _PREFIX.unpack_from(frame, 0)


def decode_request(frame: bytes, supported: dict[int, tuple[int, int]]) -> Request:
    api_key, api_version, correlation_id = peek(frame)
    versions = supported.get(api_key)
    cls = request_class(api_key, api_version) if versions else None
    if versions is None or cls is None or not versions[0] <= api_version <= versions[1]:
        raise UnsupportedApi(api_key, api_version, correlation_id)
    try:
        # Before kio: it trusts announced counts, and one too large aborts the process.
        check_request(cls, frame)
    except LengthError as exc:
        raise DecodeError(f"cannot decode {cls.__name__} v{api_version}: {exc}") from exc
    try:
        header, offset = _reader(cls.__header_schema__)(frame, 0)  # type: ignore[attr-defined]
        body, size = _reader(cls)(frame, offset)
    except Exception as exc:
        raise DecodeError(f"cannot decode {cls.__name__} v{api_version}: {exc}") from exc
    # Bytes after the body are ignored, as Kafka does: some clients send fields
    # that later schema versions dropped (librdkafka's Metadata v12).
    return Request(api_key, api_version, correlation_id, header.client_id, body, frame, offset)


def encode_response(api_key: int, api_version: int, correlation_id: int, body: Any) -> bytes:
    cls: Any = type(body)
    out = io.BytesIO()
    out.write(b"\0\0\0\0")
    # ApiVersions answers with response header v0 whatever its version (KIP-511).
    if cls.__flexible__ and api_key != API_VERSIONS_KEY:
        _writer(ResponseHeaderV1)(out, ResponseHeaderV1(correlation_id=i32(correlation_id)))
    else:
        _writer(ResponseHeaderV0)(out, ResponseHeaderV0(correlation_id=i32(correlation_id)))
    _writer(cls)(out, body)
    data = out.getbuffer()
    struct.pack_into(">i", data, 0, len(data) - 4)
    return bytes(data)


__all__ = ["RequestHeaderV1", "Request", "decode_request", "encode_response", "peek"]
