"""Self-test of compat_roundtrip's checks (no broker needed): each kind of damage a
broker could do to the records must make verify_roundtrip fail."""

from __future__ import annotations

import dataclasses

import pytest
from compat_roundtrip import Rec, by_partition, make_records, verify_roundtrip


def consumed_ok(expected: list[Rec]) -> list[Rec]:
    out = []
    for _p, recs in sorted(by_partition(expected).items()):
        out += [dataclasses.replace(r, offset=i) for i, r in enumerate(recs)]
    return out


def test_intact_roundtrip_passes():
    exp = make_records(n=300)
    verify_roundtrip(exp, consumed_ok(exp), end_offsets={0: 100, 1: 100, 2: 100})


def test_json_lines_roundtrip():
    exp = make_records(n=30)
    assert [Rec.from_json(r.to_json()) for r in exp] == exp


def _damage(kind: str, got: list[Rec]) -> list[Rec]:
    got = list(got)
    if kind == "missing":
        del got[5]
    elif kind == "duplicate":
        got.insert(6, got[5])
    elif kind == "reordered":
        a, b = got[5], got[6]
        got[5], got[6] = (
            dataclasses.replace(b, offset=a.offset),
            dataclasses.replace(a, offset=b.offset),
        )
    elif kind == "key":
        got[7] = dataclasses.replace(got[7], key=b"other")
    elif kind == "null-key":
        null_at = next(i for i, r in enumerate(got) if r.key is None)
        got[null_at] = dataclasses.replace(got[null_at], key=b"")
    elif kind == "value":
        got[7] = dataclasses.replace(got[7], value=got[7].value + b"!")
    elif kind == "header-value":
        h = list(got[7].headers)
        h[1] = (h[1][0], b"x")
        got[7] = dataclasses.replace(got[7], headers=tuple(h))
    elif kind == "header-order":
        got[7] = dataclasses.replace(got[7], headers=tuple(reversed(got[7].headers)))
    elif kind == "headers-dropped":
        got[7] = dataclasses.replace(got[7], headers=())
    elif kind == "timestamp":
        got[7] = dataclasses.replace(got[7], timestamp=got[7].timestamp + 1)
    elif kind == "offset-gap":
        got[8:] = [dataclasses.replace(r, offset=r.offset + 1) for r in got[8:]]
    elif kind == "wrong-partition":
        got[7] = dataclasses.replace(got[7], partition=(got[7].partition + 1) % 3)
    return got


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "duplicate",
        "reordered",
        "key",
        "null-key",
        "value",
        "header-value",
        "header-order",
        "headers-dropped",
        "timestamp",
        "offset-gap",
        "wrong-partition",
    ],
)
def test_damage_is_caught(kind):
    exp = make_records(n=3000)
    with pytest.raises(AssertionError):
        verify_roundtrip(exp, _damage(kind, consumed_ok(exp)))


def test_wrong_end_offsets_are_caught():
    exp = make_records(n=300)
    with pytest.raises(AssertionError, match="ListOffsets"):
        verify_roundtrip(exp, consumed_ok(exp), end_offsets={0: 99, 1: 100, 2: 100})


def test_timestamp_window_for_producer_assigned_timestamps():
    exp = [dataclasses.replace(r, timestamp=None) for r in make_records(n=30)]
    got = [dataclasses.replace(r, timestamp=1_000_000 + r.seq) for r in consumed_ok(exp)]
    verify_roundtrip(exp, got, ts_window=(1_000_000, 1_000_100))
    with pytest.raises(AssertionError, match="timestamp"):
        verify_roundtrip(exp, got, ts_window=(2_000_000, 2_000_100))
    backwards = list(got)
    backwards[3] = dataclasses.replace(backwards[3], timestamp=999_000)
    with pytest.raises(AssertionError, match="timestamp"):
        verify_roundtrip(exp, backwards, ts_window=(1_000_000, 1_000_100))
