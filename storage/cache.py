"""Read caches: the chunks this agent just flushed, and an LRU of ranges read from the store.

Both are bounded by bytes. Keys are (object key, byte start) of a chunk.
"""

from __future__ import annotations

from collections import OrderedDict

from . import metrics


class ByteLRU:
    def __init__(self, capacity_bytes: int, tier: str) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._gauge = metrics.CACHE_BYTES.labels(tier)

    def get(self, key: tuple[str, int]) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: tuple[str, int], data: bytes) -> None:
        if len(data) > self.capacity:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._items[key] = data
        self.size += len(data)
        while self.size > self.capacity:
            _k, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)
        self._gauge.set(self.size)

    def discard_object(self, object_key: str) -> None:
        for key in [k for k in self._items if k[0] == object_key]:
            self.size -= len(self._items.pop(key))
        self._gauge.set(self.size)


class ReadCache:
    """Recent flushes first (tail consumers never touch the store), then the LRU."""

    def __init__(self, recent_bytes: int, lru_bytes: int) -> None:
        self.recent = ByteLRU(recent_bytes, "recent")
        self.lru = ByteLRU(lru_bytes, "lru")

    def get(self, key: tuple[str, int]) -> bytes | None:
        data = self.recent.get(key)
        if data is not None:
            metrics.CACHE_HITS.labels("recent").inc()
            return data
        data = self.lru.get(key)
        if data is not None:
            metrics.CACHE_HITS.labels("lru").inc()
            return data
        metrics.CACHE_MISSES.inc()
        return None

    def discard_object(self, object_key: str) -> None:
        self.recent.discard_object(object_key)
        self.lru.discard_object(object_key)
