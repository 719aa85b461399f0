"""Throughput over the last hour, sampled in memory so charts work without a Prometheus server."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from broker import throughput


class ThroughputSeries:
    def __init__(
        self, interval: float = 10.0, keep_seconds: float = 3600.0,
        on_sample: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.interval = interval
        self.on_sample = on_sample
        self.points: deque[tuple[int, float, float, float, float]] = deque(
            maxlen=int(keep_seconds / interval)
        )
        self._last = self._totals()
        self._last_time = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _totals() -> tuple[float, float, float, float]:
        return throughput.totals()

    def sample(self) -> None:
        now = time.monotonic()
        totals = self._totals()
        dt = max(now - self._last_time, 1e-6)
        records, produced, fetched, fetched_records = (
            (b - a) / dt for a, b in zip(self._last, totals, strict=True))
        self.points.append((int(time.time() * 1000), records, produced, fetched, fetched_records))
        self._last, self._last_time = totals, now

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="throughput-series")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()
            if self.on_sample is not None:
                try:
                    await self.on_sample()
                except Exception:  # a catalogue hiccup must not stop the sampler
                    pass
