"""Flush objects: the batches of many partitions back to back, then a footer.

The footer (JSON, its length, a magic) lists what the object holds, so the
chunk index can be rebuilt from the bucket alone (DESIGN.md §9). Sans-io.
"""

from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass

FOOTER_MAGIC = b"SHSEG001"
FOOTER_TAIL = struct.Struct(">I8s")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkEntry:
    topic_id: str
    partition: int
    base_offset: int
    last_offset: int
    byte_start: int
    byte_length: int
    first_timestamp: int
    max_timestamp: int
    record_count: int


def encode_footer(entries: list[ChunkEntry]) -> bytes:
    body = json.dumps(
        [
            [
                e.topic_id,
                e.partition,
                e.base_offset,
                e.last_offset,
                e.byte_start,
                e.byte_length,
                e.first_timestamp,
                e.max_timestamp,
                e.record_count,
            ]
            for e in entries
        ],
        separators=(",", ":"),
    ).encode()
    return body + FOOTER_TAIL.pack(len(body), FOOTER_MAGIC)


def decode_footer(obj: bytes) -> list[ChunkEntry]:
    if len(obj) < FOOTER_TAIL.size:
        raise ValueError("object too short for a footer")
    length, magic = FOOTER_TAIL.unpack_from(obj, len(obj) - FOOTER_TAIL.size)
    if magic != FOOTER_MAGIC:
        raise ValueError("not a StreamHouse flush object (bad footer magic)")
    start = len(obj) - FOOTER_TAIL.size - length
    rows = json.loads(obj[start : len(obj) - FOOTER_TAIL.size])
    return [
        ChunkEntry(
            topic_id=r[0],
            partition=r[1],
            base_offset=r[2],
            last_offset=r[3],
            byte_start=r[4],
            byte_length=r[5],
            first_timestamp=r[6],
            max_timestamp=r[7],
            record_count=r[8],
        )
        for r in rows
    ]


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID: 48-bit millisecond time and 80 random bits, Crockford base32; sorts by time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    out = []
    for _ in range(26):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


# The owner of a flush object that holds several small organizations' chunks (the PUT
# budget's shared object, DESIGN.md §4.3); its key sits outside every `org-{id}/` prefix.
SHARED_OBJECT_OWNER = "shared"


def flush_object_key(org_id: str, agent_id: str) -> str:
    t = time.gmtime()
    prefix = "shared" if org_id == SHARED_OBJECT_OWNER else f"org-{org_id}"
    return (
        f"{prefix}/objects/{t.tm_year:04}/{t.tm_mon:02}/{t.tm_mday:02}/{agent_id}-{ulid()}.seg"
    )
