"""Write-ahead log: makes `acks=1` batches survive a process crash (DESIGN.md §5).

Segments `wal-{n:012}.log` hold CRC32C-framed entries. The log rotates to a
new segment each time a flush takes the write buffer, and a segment is deleted
once every flush that holds its entries has committed. File I/O runs in a
worker thread, one write (and at most one fsync) per group of entries.
The entry codec is sans-io: `encode_entry` / `decode_entries` take bytes.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import crc32c

from . import metrics

# length u32 (of what follows the CRC), crc32c u32, then the payload:
# topic id (16 bytes), partition i32, epoch i32, base offset i64, batch bytes
FRAME = struct.Struct(">II")
ENTRY = struct.Struct(">16siiq")

FsyncPolicy = Literal["always", "interval", "never"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WalEntry:
    topic_id: str
    partition: int
    epoch: int
    base_offset: int
    batch: bytes


def encode_entry(entry: WalEntry) -> bytes:
    payload = (
        ENTRY.pack(
            uuid.UUID(hex=entry.topic_id).bytes, entry.partition, entry.epoch, entry.base_offset
        )
        + entry.batch
    )
    return FRAME.pack(len(payload), crc32c.crc32c(payload)) + payload


def decode_entries(data: bytes) -> tuple[list[WalEntry], int]:
    """Entries of a segment, and the byte length of its intact prefix (a torn tail is cut)."""
    entries: list[WalEntry] = []
    pos = 0
    view = memoryview(data)
    while pos + FRAME.size <= len(data):
        length, crc = FRAME.unpack_from(view, pos)
        start = pos + FRAME.size
        end = start + length
        if length < ENTRY.size or end > len(data):
            break
        payload = view[start:end]
        if crc32c.crc32c(payload) != crc:
            break
        tid, partition, epoch, base_offset = ENTRY.unpack_from(payload, 0)
        entries.append(
            WalEntry(
                topic_id=uuid.UUID(bytes=tid).hex,
                partition=partition,
                epoch=epoch,
                base_offset=base_offset,
                batch=bytes(payload[ENTRY.size :]),
            )
        )
        pos = end
    return entries, pos


class WriteAheadLog:
    def __init__(
        self, directory: Path, fsync: FsyncPolicy = "interval", fsync_interval: float = 0.05
    ) -> None:
        self.directory = directory
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self._segment = 0
        self._file: object = None
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_sync = 0.0
        self._size = 0
        self._dirty = False

    # -- recovery --------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob("wal-*.log"))

    def recover(self) -> list[WalEntry]:
        """Every intact entry in the log, oldest first; torn tails are truncated."""
        self.directory.mkdir(parents=True, exist_ok=True)
        out: list[WalEntry] = []
        for path in self.segments():
            data = path.read_bytes()
            entries, good = decode_entries(data)
            if good < len(data):
                with path.open("r+b") as f:
                    f.truncate(good)
            out.extend(entries)
        return out

    # -- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self.segments()
        self._segment = int(existing[-1].stem.split("-")[1]) + 1 if existing else 1
        self._file = self._open(self._segment)
        self._size = sum(p.stat().st_size for p in existing)
        self._task = asyncio.create_task(self._writer(), name="wal-writer")

    def _open(self, segment: int) -> object:
        return open(self.directory / f"wal-{segment:012}.log", "ab", buffering=0)  # noqa: SIM115

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        group, self._pending = self._pending, []
        if group and self._file is not None:
            await asyncio.to_thread(self._write_group, group)
        for _data, fut in group:
            if fut is not _ROTATE_MARK and not fut.done():
                fut.set_result(None)
        if self._file is not None:
            if self.fsync != "never":
                os.fsync(self._file.fileno())  # type: ignore[attr-defined]
            self._file.close()  # type: ignore[attr-defined]
            self._file = None

    # -- writing -------------------------------------------------------------------

    def append(self, entry: WalEntry) -> asyncio.Future[None]:
        """Queue an entry; the future resolves when it is written (and synced per policy)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((encode_entry(entry), fut))
        self._dirty = True
        self._wake.set()
        return fut

    def rotate(self) -> int:
        """Start a new segment for entries queued from now on; returns the new segment number.

        Queued entries are written to the old segment first (the writer drains in order).
        With nothing appended since the last rotation there is nothing to separate.
        """
        if not self._dirty:
            return self._segment
        self._dirty = False
        self._segment += 1
        self._pending.append((b"", _ROTATE_MARK))
        self._wake.set()
        return self._segment

    async def release_before(self, segment: int) -> None:
        """Delete segments whose every entry is committed to the object store."""

        def _delete() -> None:
            for path in self.segments():
                if int(path.stem.split("-")[1]) < segment:
                    size = path.stat().st_size
                    path.unlink(missing_ok=True)
                    self._size -= size
            metrics.WAL_BYTES.set(max(self._size, 0))

        await asyncio.to_thread(_delete)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            group, self._pending = self._pending, []
            if not group:
                continue
            try:
                await asyncio.to_thread(self._write_group, group)
            except Exception as exc:  # disk full, I/O error: the waiting produces fail
                for _data, fut in group:
                    if fut is not _ROTATE_MARK and not fut.done():
                        fut.set_exception(exc)
                continue
            for _data, fut in group:
                if fut is not _ROTATE_MARK and not fut.done():
                    fut.set_result(None)

    def _write_group(self, group: list[tuple[bytes, asyncio.Future[None]]]) -> None:
        f = self._file
        buf = bytearray()
        for data, fut in group:
            if fut is _ROTATE_MARK:
                if buf:
                    f.write(buf)  # type: ignore[attr-defined]
                    self._size += len(buf)
                    buf = bytearray()
                self._sync(f, force=self.fsync != "never")
                f.close()  # type: ignore[attr-defined]
                f = self._file = self._open(self._segment_after(f))
            else:
                buf += data
        if buf:
            f.write(buf)  # type: ignore[attr-defined]
            self._size += len(buf)
        self._sync(f, force=self.fsync == "always")
        metrics.WAL_BYTES.set(self._size)

    def _segment_after(self, f: object) -> int:
        return int(Path(f.name).stem.split("-")[1]) + 1  # type: ignore[attr-defined]

    def _sync(self, f: object, *, force: bool) -> None:
        now = time.monotonic()
        if force or (self.fsync == "interval" and now - self._last_sync >= self.fsync_interval):
            started = time.perf_counter()
            os.fsync(f.fileno())  # type: ignore[attr-defined]
            metrics.WAL_SYNC.observe(time.perf_counter() - started)
            self._last_sync = now


class _RotateMark:
    def done(self) -> bool:
        return True


_ROTATE_MARK: asyncio.Future[None] = _RotateMark()  # type: ignore[assignment]
