"""The allocator settings the agent applies at start (streamhouse/memory.py)."""

import sys

import pytest

from streamhouse.memory import tune_allocator


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt is Linux's")
def test_glibc_takes_the_settings_unless_the_operator_chose(monkeypatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert tune_allocator() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert tune_allocator() is False
