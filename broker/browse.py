"""Browsing a topic's records across partitions, as the console's message browser pages
them: pure logic (cursors, filters, the merge), no I/O — Fetch.browse reads the records.

A page is deterministic: a cursor holds one offset per partition, and a page takes from
each partition a prefix of its (matching) records in offset order, merged by timestamp
(then partition). Paging forward from a page's `after` cursor and back from its `before`
cursor never skips nor repeats a record, whatever the timestamps are.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.recordbatch import Record

from . import errors


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordFilter:
    """What a record must have to be shown; every given part must match."""

    key: bytes | None = None  # a substring of the key
    value: bytes | None = None  # a substring of the value
    header: str | None = None  # a header name, present
    header_value: bytes | None = None  # ... with this value
    since: int | None = None  # timestamp at or after (ms)
    until: int | None = None  # timestamp at or before (ms)

    @property
    def empty(self) -> bool:
        return (self.key is None and self.value is None and self.header is None
                and self.since is None and self.until is None)

    def matches(self, r: Record) -> bool:
        if self.since is not None and r.timestamp < self.since:
            return False
        if self.until is not None and r.timestamp > self.until:
            return False
        if self.key is not None and (r.key is None or self.key not in r.key):
            return False
        if self.value is not None and (r.value is None or self.value not in r.value):
            return False
        if self.header is not None:
            values = [v for k, v in r.headers if k == self.header]
            if not values:
                return False
            if self.header_value is not None and self.header_value not in values:
                return False
        return True

    @classmethod
    def parse(cls, *, key: str | None = None, value: str | None = None,
              header: str | None = None, since: int | None = None,
              until: int | None = None) -> RecordFilter:
        """From query parameters: `header` is `name` or `name=value`."""
        name, value_of_header = None, None
        if header:
            name, sep, rest = header.partition("=")
            if not name:
                raise errors.InvalidRequest("header filter is name or name=value")
            value_of_header = rest.encode() if sep else None
        if since is not None and until is not None and since > until:
            raise errors.InvalidRequest(f"since ({since}) is after until ({until})")
        return cls(key=key.encode() if key else None, value=value.encode() if value else None,
                   header=name, header_value=value_of_header, since=since, until=until)


def parse_cursor(text: str) -> dict[int, int]:
    """`partition:offset,partition:offset` into {partition: offset}."""
    out: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        p, sep, o = part.partition(":")
        try:
            if not sep:
                raise ValueError
            partition, offset = int(p), int(o)
        except ValueError:
            raise errors.InvalidRequest(
                f"cursor part {part!r} is not partition:offset") from None
        if partition < 0 or offset < 0:
            raise errors.InvalidRequest(f"cursor part {part!r} is negative")
        out[partition] = offset
    return out


def format_cursor(cursor: dict[int, int]) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(cursor.items()))


@dataclass(slots=True)
class Stream:
    """One partition's matching records read for a page, in the direction of the page
    (ascending offsets forward, descending backward), and how far its scan got."""

    partition: int
    records: list[Record]
    scanned_to: int  # forward: the next offset not scanned; backward: the lowest scanned
    start: int  # the cursor the page started from on this partition


def merge(streams: Sequence[Stream], limit: int, *, forward: bool
          ) -> tuple[list[tuple[int, Record]], dict[int, int]]:
    """Take up to `limit` records, a prefix of each stream, by timestamp then partition
    (oldest first forward, newest first backward); the cursor to go on from, per
    partition. The records come back in ascending (timestamp, partition, offset) order."""
    sign = 1 if forward else -1
    heads: list[tuple[int, int, int, int]] = []  # (±timestamp, ±partition, stream, index)
    for i, s in enumerate(streams):
        if s.records:
            heads.append((sign * s.records[0].timestamp, sign * s.partition, i, 0))
    heapq.heapify(heads)
    taken: list[tuple[int, Record]] = []
    last: dict[int, int] = {}
    while heads and len(taken) < limit:
        _t, _p, i, j = heapq.heappop(heads)
        s = streams[i]
        r = s.records[j]
        taken.append((s.partition, r))
        last[s.partition] = r.offset
        if j + 1 < len(s.records):
            nxt = s.records[j + 1]
            heapq.heappush(heads, (sign * nxt.timestamp, sign * s.partition, i, j + 1))
    cursor: dict[int, int] = {}
    for s in streams:
        if s.partition in last:
            # Past what was shown; the rest of its scan is read again by the next page.
            cursor[s.partition] = last[s.partition] + 1 if forward else last[s.partition]
        elif not s.records:
            cursor[s.partition] = s.scanned_to  # nothing there matched: skip what was scanned
        else:
            cursor[s.partition] = s.start
    # Shown by time: the cursors above are what keeps paging exact, not this order.
    taken.sort(key=lambda pr: (pr[1].timestamp, pr[0], pr[1].offset))
    return taken, cursor


def around(shown: Iterable[tuple[int, Record]], start: dict[int, int],
           cursor: dict[int, int], *, forward: bool) -> tuple[dict[int, int], dict[int, int]]:
    """A page's `before` (end-exclusive offsets for the older page) and `after` (start
    offsets for the newer page). One of them is the merge's cursor; the other hugs what
    the page showed, or is where it started on a partition it showed nothing of."""
    first: dict[int, int] = {}
    final: dict[int, int] = {}
    for p, r in shown:
        first[p] = min(first.get(p, r.offset), r.offset)
        final[p] = max(final.get(p, r.offset), r.offset)
    if forward:
        return {p: first.get(p, o) for p, o in start.items()}, cursor
    return cursor, {p: final[p] + 1 if p in final else o for p, o in start.items()}
