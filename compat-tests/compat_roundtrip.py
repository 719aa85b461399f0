"""Shared record generation and round-trip checks for every client's compat test.

Each client test does the same thing:

1. ``expected = make_records(...)``: 10,000 records spread round-robin over
   3 partitions, each with a key, two headers, an explicit timestamp and a
   per-partition sequence number in its value;
2. produce ``expected`` with the client under test (explicit partitions);
3. consume every partition from offset 0 by explicit assignment (no consumer
   group), converting what the client returns into :class:`Rec`;
4. ``verify_roundtrip(expected, consumed, end_offsets=...)``.

Only the client-specific produce/consume code lives in the test modules; the
records and every assertion live here.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

N_RECORDS = 10_000
N_PARTITIONS = 3
# Compression codec names as librdkafka spells them; "none" = uncompressed.
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
# Default deadline for "every record has come back" (acks=0 included).
CONSUME_TIMEOUT_S = 60.0
# Slack for broker/producer-assigned timestamps (clock granularity, batching).
TS_SLACK_MS = 5_000

_SEQ_RE = re.compile(rb"^p=(\d+) seq=(\d+) ")


@dataclasses.dataclass(frozen=True)
class Rec:
    """One record, as produced (expected) or as a client handed it back."""

    partition: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    # Milliseconds since the epoch. In an expected record, None means the
    # client cannot set it (kcat): it is then checked against a time window.
    timestamp: int | None = None
    offset: int | None = None  # only filled in on consumed records

    @property
    def seq(self) -> int:
        return parse_seq(self.value)

    # -- JSON lines, for clients that run in another process (kafkajs) -------
    def to_json(self) -> str:
        return json.dumps(
            {
                "partition": self.partition,
                "key": None if self.key is None else _b64(self.key),
                "value": _b64(self.value),
                "headers": [[k, _b64(v)] for k, v in self.headers],
                "timestamp": self.timestamp,
                "offset": self.offset,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, line: str | Mapping) -> Rec:
        d = json.loads(line) if isinstance(line, str) else line
        return cls(
            partition=int(d["partition"]),
            key=None if d.get("key") is None else base64.b64decode(d["key"]),
            value=base64.b64decode(d["value"]),
            headers=tuple((k, base64.b64decode(v)) for k, v in d.get("headers") or ()),
            timestamp=None if d.get("timestamp") is None else int(d["timestamp"]),
            offset=None if d.get("offset") is None else int(d["offset"]),
        )


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def parse_seq(value: bytes) -> int:
    m = _SEQ_RE.match(value or b"")
    if not m:
        raise AssertionError(f"value is not one of ours: {value[:60]!r}")
    return int(m.group(2))


def now_ms() -> int:
    return int(time.time() * 1000)


def make_records(
    n: int = N_RECORDS,
    partitions: int = N_PARTITIONS,
    *,
    tag: str = "",
    base_ts: int | None = None,
    binary_headers: bool = True,
    null_key_every: int = 997,
) -> list[Rec]:
    """Records for one round trip, in production order.

    Record ``i`` goes to partition ``i % partitions`` with per-partition
    sequence number ``i // partitions`` at the start of its value. Keys are
    ``key-<i>`` (every ``null_key_every``-th key is null, 0 disables).
    Timestamps are explicit and an hour in the past, so a broker that
    replaces them with its own clock is caught. Header values carry a NUL and
    a 0xFF byte unless ``binary_headers`` is false (kcat's command line and
    JSON output cannot carry them).
    """
    if base_ts is None:
        base_ts = (now_ms() // 1000) * 1000 - 3_600_000
    tag_b = tag.encode()
    out = []
    for i in range(n):
        p = i % partitions
        seq = i // partitions
        # Moderately compressible filler that differs per record.
        filler = (b"%08x" % ((i * 2654435761) & 0xFFFFFFFF)) * 4
        value = b"p=%d seq=%06d i=%06d t=%s %s" % (p, seq, i, tag_b, filler)
        key = (
            None if null_key_every and i % null_key_every == null_key_every - 1 else b"key-%06d" % i
        )
        second = bytes([0, 255, i % 256]) + b"bin" if binary_headers else b"txt-%d" % (i % 256)
        headers = (("compat-seq", b"%d" % seq), ("compat-blob", second))
        out.append(Rec(p, key, value, headers, base_ts + i))
    return out


def expected_counts(expected: Iterable[Rec]) -> dict[int, int]:
    c: Counter[int] = Counter(r.partition for r in expected)
    return dict(c)


def by_partition(recs: Iterable[Rec]) -> dict[int, list[Rec]]:
    out: dict[int, list[Rec]] = defaultdict(list)
    for r in recs:
        out[r.partition].append(r)
    return dict(out)


class Progress:
    """Book-keeping for a client's consume loop.

    ``done(positions)`` is true once every partition has at least the expected
    number of records *and* (when positions and end offsets are known) the
    consumer's position has reached the end offset read after producing, so a
    broker that stored duplicates is caught by the count check. The loop
    gives up at the deadline; ``verify_roundtrip`` then reports what is
    missing.
    """

    def __init__(
        self,
        expected: Sequence[Rec],
        *,
        end_offsets: Mapping[int, int] | None = None,
        timeout: float = CONSUME_TIMEOUT_S,
    ) -> None:
        self.want = expected_counts(expected)
        self.end_offsets = dict(end_offsets or {})
        self.records: list[Rec] = []
        self.count: Counter[int] = Counter()
        self.deadline = time.monotonic() + timeout

    def add(self, recs: Iterable[Rec]) -> None:
        for r in recs:
            self.records.append(r)
            self.count[r.partition] += 1

    def done(self, positions: Mapping[int, int] | None = None) -> bool:
        for p, n in self.want.items():
            if self.count[p] < n:
                return False
            if positions is not None and p in self.end_offsets:
                if positions.get(p, -1) < self.end_offsets[p]:
                    return False
        return True

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def keep_going(self, positions: Mapping[int, int] | None = None) -> bool:
        return not self.done(positions) and not self.expired


def _fmt_list(xs: Sequence, limit: int = 8) -> str:
    xs = list(xs)
    s = ", ".join(map(str, xs[:limit]))
    return f"[{s}{', ...' if len(xs) > limit else ''}] ({len(xs)})"


def _bytes_diff(got: bytes, want: bytes) -> str:
    i = next(
        (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
        min(len(got), len(want)),
    )
    lo = max(0, i - 10)
    return (
        f"first difference at byte {i} (lengths {len(got)}/{len(want)}): "
        f"got ...{got[lo : i + 20]!r}, expected ...{want[lo : i + 20]!r}"
    )


def _check_partition(
    p: int, exp: list[Rec], got: list[Rec], ts_window: tuple[int, int] | None
) -> list[str]:
    problems: list[str] = []
    exp_seq = [r.seq for r in exp]
    got_seq = [r.seq for r in got]
    wrong_part = [r.seq for r in got if int(_SEQ_RE.match(r.value).group(1)) != p]
    if wrong_part:
        problems.append(f"p{p}: records written for another partition: seq {_fmt_list(wrong_part)}")

    # 1. count (missing / duplicated)
    if len(got) != len(exp):
        dup = sorted(s for s, c in Counter(got_seq).items() if c > 1)
        missing = sorted(set(exp_seq) - set(got_seq))
        problems.append(
            f"p{p}: got {len(got)} records, expected {len(exp)}; "
            f"missing seq {_fmt_list(missing)}; duplicated seq {_fmt_list(dup)}"
        )

    # 2. per-partition order: the sequence number must strictly increase
    for i in range(1, len(got_seq)):
        if got_seq[i] <= got_seq[i - 1]:
            problems.append(
                f"p{p}: order broken at position {i}: seq {got_seq[i - 1]} then {got_seq[i]}"
            )
            break

    # 3. offsets: dense and from 0 on a fresh topic without transactions
    offs = [r.offset for r in got]
    if got and all(o is not None for o in offs):
        if offs != list(range(offs[0], offs[0] + len(offs))) or offs[0] != 0:
            bad = next((i for i in range(len(offs)) if offs[i] != i), None)
            problems.append(
                f"p{p}: offsets not 0..{len(offs) - 1} in order; first at position "
                f"{bad}: {offs[bad] if bad is not None else offs[0]}"
            )

    # 4. fields, matched by sequence number
    exp_by_seq = {r.seq: r for r in exp}
    mism: dict[str, list[str]] = defaultdict(list)
    last_ts = None
    for r in got:
        e = exp_by_seq.get(r.seq)
        if e is None:
            continue
        if r.key != e.key:
            mism["key"].append(f"seq {r.seq}: {r.key!r} != {e.key!r}")
        if r.value != e.value:
            mism["value"].append(f"seq {r.seq}: {_bytes_diff(r.value, e.value)}")
        if tuple(r.headers) != tuple(e.headers):
            mism["headers"].append(f"seq {r.seq}: {list(r.headers)!r} != {list(e.headers)!r}")
        if e.timestamp is not None:
            if r.timestamp != e.timestamp:
                mism["timestamp"].append(f"seq {r.seq}: {r.timestamp} != {e.timestamp}")
        elif ts_window is not None:
            lo, hi = ts_window
            if r.timestamp is None or not (lo - TS_SLACK_MS <= r.timestamp <= hi + TS_SLACK_MS):
                mism["timestamp"].append(f"seq {r.seq}: {r.timestamp} outside [{lo}, {hi}]")
            elif last_ts is not None and r.timestamp < last_ts:
                mism["timestamp"].append(f"seq {r.seq}: {r.timestamp} < previous {last_ts}")
            last_ts = r.timestamp
    for field, items in mism.items():
        problems.append(f"p{p}: {len(items)} {field} mismatches, first: " + "; ".join(items[:3]))
    return problems


def verify_roundtrip(
    expected: Sequence[Rec],
    consumed: Iterable[Rec],
    *,
    end_offsets: Mapping[int, int] | None = None,
    ts_window: tuple[int, int] | None = None,
    what: str = "",
) -> None:
    """Assert that ``consumed`` is exactly ``expected``, partition by partition.

    Checks, per partition: record count (reporting missing and duplicated
    sequence numbers), order (sequence numbers strictly increase), offsets
    (0, 1, 2, ... when the client reports them), then key, value, headers
    (names, values and order) and timestamp of every record. Expected records
    without a timestamp must carry one inside ``ts_window`` (ms, inclusive,
    with TS_SLACK_MS slack) that never goes backwards.

    ``end_offsets`` (the client's own ListOffsets(latest) answer per partition,
    read after consuming) is reported last, so a failure that mentions only
    end offsets means every record came back intact.
    """
    consumed = list(consumed)
    exp_by_p = by_partition(expected)
    got_by_p = by_partition(consumed)
    problems: list[str] = []
    for p in sorted(set(got_by_p) - set(exp_by_p)):
        problems.append(f"p{p}: {len(got_by_p[p])} records on a partition nothing was sent to")
    for p in sorted(exp_by_p):
        problems += _check_partition(p, exp_by_p[p], got_by_p.get(p, []), ts_window)
    if end_offsets is not None:
        want = expected_counts(expected)
        got = {p: end_offsets.get(p) for p in want}
        if got != want:
            problems.append(f"ListOffsets(latest) after consuming says {got}, expected {want}")
    if problems:
        head = f"{what}: " if what else ""
        raise AssertionError(
            head + f"round trip of {len(expected)} records failed:\n  " + "\n  ".join(problems)
        )
