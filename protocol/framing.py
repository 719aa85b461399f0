"""Kafka framing: a 4-byte big-endian size, then the request. Sans-io."""

from __future__ import annotations

import struct

SIZE = struct.Struct(">i")


class FrameError(ValueError):
    """The byte stream cannot be trusted any more; the connection must close."""


class FrameReader:
    """Feed bytes in, take whole frames out."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_frame(self) -> bytes | None:
        if len(self._buf) < 4:
            return None
        (size,) = SIZE.unpack_from(self._buf, 0)
        if size < 8:  # api key, version, correlation id at least
            raise FrameError(f"frame size {size} is too small for a request header")
        if size > self.max_frame_bytes:
            raise FrameError(
                f"frame of {size} bytes exceeds the limit of {self.max_frame_bytes} bytes"
            )
        if len(self._buf) < 4 + size:
            return None
        with memoryview(self._buf) as view:  # one copy (a bytearray slice would be two)
            frame = bytes(view[4 : 4 + size])
        del self._buf[: 4 + size]
        return frame

    @property
    def buffered(self) -> int:
        return len(self._buf)
