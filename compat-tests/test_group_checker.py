"""Tests of group_scenarios.check_exactly_once itself (no broker needed)."""

from __future__ import annotations

import time
from pathlib import Path

import group_scenarios as gs
import pytest


def make(tmp_path: Path, n: int = 4):
    g = gs.GroupTest("unused:0", gs.PythonClient("checker", gs.BaseDriver), "checker", tmp_path)
    produced = gs.Produced()
    for i in range(n):
        v = f"v{i}"
        produced.where[v] = (0, i)
        produced.order.append(v)
    a, b = (gs.Member(gs.MemberSpec("unused:0", "t", "g", name), g.tracker) for name in "ab")
    g.members += [a, b]
    return g, produced, a, b


def records(member: gs.Member, *offsets: int) -> None:
    member.handle({"ev": "records", "recs": [[0, o, f"v{o}"] for o in offsets]})
    time.sleep(0.001)


def commit(member: gs.Member, offset: int, ok: bool = True) -> None:
    member.handle(
        {
            "ev": "commit",
            "ok": ok,
            "offsets": {"0": offset},
            "where": "poll",
            "error": None if ok else "X",
        }
    )
    time.sleep(0.001)


def test_clean_handover_passes(tmp_path):
    g, produced, a, b = make(tmp_path)
    records(a, 0, 1)
    commit(a, 2)
    records(b, 2, 3)
    commit(b, 4)
    assert gs.check_exactly_once(g, produced, "x")["redelivered"] == 0


def test_redelivery_after_failed_commit_is_allowed(tmp_path):
    g, produced, a, b = make(tmp_path)
    records(a, 0, 1)
    commit(a, 2)
    records(a, 2)
    commit(a, 3, ok=False)
    records(b, 2, 3)
    commit(b, 4)
    stats = gs.check_exactly_once(g, produced, "x")
    assert stats == {"records": 4, "redelivered": 1, "failed_commits": 1}


def test_redelivery_of_committed_record_fails(tmp_path):
    g, produced, a, b = make(tmp_path)
    records(a, 0, 1, 2)
    commit(a, 3)
    records(b, 2, 3)
    with pytest.raises(AssertionError, match="1 duplicates although"):
        gs.check_exactly_once(g, produced, "x")


def test_loss_and_wrong_offset_fail(tmp_path):
    g, produced, a, _b = make(tmp_path)
    records(a, 0, 1)
    a.handle({"ev": "records", "recs": [[1, 2, "v2"]]})
    with pytest.raises(AssertionError, match="1 of 4 records never consumed.*wrong partition"):
        gs.check_exactly_once(g, produced, "x")
