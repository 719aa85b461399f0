"""The C allocator's settings for a long-running agent (glibc on Linux).

glibc gives every thread that allocates its own arena (up to 8 per core: the object
store's and SQLite's worker threads each take one), and after a large block is freed it
raises the size above which blocks get their own mapping, so later flush-sized buffers
(hundreds of KB to MBs) come from the arenas instead and leave holes that are never
handed back. Under a steady load that shows as RSS climbing in steps for an hour although
the Python heap is flat (docs/SOAK.md measured both). Two arenas and a fixed 128 KiB
threshold keep RSS flat: big buffers are mapped and unmapped whole.

An operator's own MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ win: set either and this
leaves both alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024


def tune_allocator() -> bool:
    """Apply the settings above; False where there is no glibc or the operator chose."""
    if sys.platform != "linux":
        return False
    if "MALLOC_ARENA_MAX" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, ARENAS)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
