"""The consumer protocol's opaque bytes of a group (KIP-429 schemas, versions 0-3):
a member's subscription (JoinGroup metadata) and its assignment (SyncGroup)."""

from __future__ import annotations

import struct

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, s: struct.Struct) -> int:
        if self.pos + s.size > len(self.data):
            raise ValueError("consumer protocol data ends early")
        (value,) = s.unpack_from(self.data, self.pos)
        self.pos += s.size
        return int(value)

    def i16(self) -> int:
        return self._take(_I16)

    def i32(self) -> int:
        return self._take(_I32)

    def string(self) -> str:
        size = self.i16()
        if size < 0 or self.pos + size > len(self.data):
            raise ValueError("bad string in consumer protocol data")
        text = self.data[self.pos : self.pos + size].decode()
        self.pos += size
        return text


def subscription_topics(metadata: bytes) -> set[str]:
    """The topics of a subscription (version, then an array of topic names; later
    versions only add fields after it). Empty for data of another protocol."""
    try:
        r = _Reader(metadata)
        r.i16()
        return {r.string() for _ in range(max(r.i32(), 0))}
    except (UnicodeDecodeError, ValueError):
        return set()


def assignment_partitions(assignment: bytes) -> dict[str, list[int]]:
    """Topic -> partitions of an assignment (version, then an array of topic and
    partition array; user data follows). Empty for data of another protocol."""
    try:
        r = _Reader(assignment)
        r.i16()
        out: dict[str, list[int]] = {}
        for _ in range(max(r.i32(), 0)):
            topic = r.string()
            out.setdefault(topic, []).extend(r.i32() for _ in range(max(r.i32(), 0)))
        return {t: sorted(ps) for t, ps in out.items()}
    except (UnicodeDecodeError, ValueError):
        return {}
