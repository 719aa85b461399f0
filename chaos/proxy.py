"""Controllable proxies for chaos drills, each running its own asyncio loop in a thread so
that synchronous code (a drill, a pytest test, confluent-kafka clients) can steer it.

* :class:`TcpProxy` — a byte pipe (e.g. agent -> PostgreSQL) with modes
  ``pass``, ``cut`` (existing connections are closed, new ones are accepted and closed at
  once, i.e. refused) and ``pause`` (connections stay open, no byte moves until ``pass``).
* :class:`S3FaultProxy` — an HTTP/1.1 proxy in front of an S3 endpoint (moto) with modes
  ``pass``, ``503`` (a fraction of requests, or all of them, get ``503 SlowDown`` XML) and
  ``unreachable`` (connections are closed, new ones refused as above). It can also hold the
  response of the next object PUT (the object is written upstream, the client does not hear
  about it yet) and signal when that PUT completed upstream — used to land a SIGKILL between
  an object PUT and the catalogue commit.

Usage::

    with TcpProxy(("127.0.0.1", 5432)) as pg:   # pg.port is the listening port
        pg.cut(); ...; pg.heal()
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import random
import threading
import time
import uuid
from collections import Counter
from typing import Any


class _LoopThread(abc.ABC):
    """An asyncio loop in a daemon thread; subclasses implement ``_serve`` (a coroutine
    returning the listening server)."""

    def __init__(self, listen_host: str = "127.0.0.1", listen_port: int = 0) -> None:
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name=type(self).__name__)
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self.stats: Counter[str] = Counter()

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> _LoopThread:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        fut.result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle_guarded, self.listen_host, self.listen_port
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._close_all()
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def _close_all(self) -> None:
        for w in list(self._conns):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._conns.clear()

    async def _handle_guarded(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError,
                asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()

    @abc.abstractmethod
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection (the proxy's own behaviour)."""


class TcpProxy(_LoopThread):
    """A TCP proxy to ``upstream`` with modes pass / cut / pause."""

    def __init__(self, upstream: tuple[str, int], listen_port: int = 0) -> None:
        super().__init__(listen_port=listen_port)
        self.upstream = upstream
        self.mode = "pass"
        self._flowing = asyncio.Event()  # set while not paused (created for self.loop below)
        self._upstream_writers: set[asyncio.StreamWriter] = set()

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await super()._start()

    # -- control (thread-safe) -------------------------------------------------------
    def cut(self) -> None:
        """Close every connection and refuse new ones (accept and close at once)."""

        def do() -> None:
            self.mode = "cut"
            self._flowing.set()
            self._close_all()
            for w in list(self._upstream_writers):
                with contextlib.suppress(Exception):
                    w.transport.abort()
            self._upstream_writers.clear()

        self._call(do)

    def pause(self) -> None:
        """Keep connections open but stop moving bytes (a black hole)."""

        def do() -> None:
            self.mode = "pause"
            self._flowing.clear()

        self._call(do)

    def heal(self) -> None:
        def do() -> None:
            self.mode = "pass"
            self._flowing.set()

        self._call(do)

    # -- data path -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            self.stats["refused"] += 1
            return
        await self._flowing.wait()
        if self.mode == "cut":
            self.stats["refused"] += 1
            return
        up_r, up_w = await asyncio.open_connection(*self.upstream)
        self._upstream_writers.add(up_w)
        self.stats["connections"] += 1
        try:
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))
        finally:
            self._upstream_writers.discard(up_w)
            up_w.transport.abort()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                await self._flowing.wait()
                if self.mode == "cut":
                    break
                dst.write(data)
                await dst.drain()
        finally:
            dst.transport.abort()


# -- HTTP ------------------------------------------------------------------------------


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    hdrs: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs


async def _read_body(reader: asyncio.StreamReader, hdrs: dict[str, str], until_eof: bool) -> tuple[bytes, bool]:
    """Return (raw body bytes as sent, whether the connection must close afterwards)."""
    if "chunked" in hdrs.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            out += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, ended by an empty line
                    t = await reader.readuntil(b"\r\n")
                    out += t
                    if t == b"\r\n":
                        return bytes(out), False
            out += await reader.readexactly(size + 2)
    if "content-length" in hdrs:
        return await reader.readexactly(int(hdrs["content-length"])), False
    if until_eof:
        return await reader.read(), True
    return b"", False


def slow_down_response() -> bytes:
    rid = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
        "<Message>Please reduce your request rate.</Message>"
        f"<RequestId>{rid}</RequestId></Error>"
    ).encode()
    head = (
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nx-amz-request-id: {rid}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


class S3FaultProxy(_LoopThread):
    """An HTTP/1.1 proxy in front of an S3 endpoint with injectable faults."""

    def __init__(self, upstream_url: str, listen_port: int = 0, seed: int = 0) -> None:
        super().__init__(listen_port=listen_port)
        hostport = upstream_url.split("://", 1)[1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.mode = "pass"
        self.fraction = 0.0
        self.rng = random.Random(seed)
        self._hold_next_put: float | None = None
        self.put_completed = threading.Event()  # set when a held PUT succeeded upstream
        self.held_put_path: str | None = None
        self.log: list[tuple[float, str, str, int]] = []  # (time, method, path, status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control (thread-safe) -------------------------------------------------------
    def set_pass(self) -> None:
        self._call(self._set, "pass", 0.0)

    def set_503(self, fraction: float = 1.0) -> None:
        self._call(self._set, "503", fraction)

    def set_unreachable(self) -> None:
        self._call(self._set, "unreachable", 0.0)

    def hold_next_put(self, seconds: float) -> None:
        """The next PUT goes upstream, then its response is held for ``seconds``."""

        def do() -> None:
            self.put_completed.clear()
            self.held_put_path = None
            self._hold_next_put = seconds

        self._call(do)

    def _set(self, mode: str, fraction: float) -> None:
        self.mode = mode
        self.fraction = fraction
        if mode == "unreachable":
            self._close_all()

    # -- data path -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "unreachable":
            self.stats["refused"] += 1
            return
        up: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head = await _read_head(reader)
                except asyncio.IncompleteReadError:
                    return
                line, hdrs = _headers(head)
                body, _ = await _read_body(reader, hdrs, until_eof=False)
                method, path = line.split(" ")[:2]
                if self.mode == "unreachable":
                    self.stats["dropped"] += 1
                    return
                if self.mode == "503" and self.rng.random() < self.fraction:
                    self.stats["503"] += 1
                    self.log.append((time.monotonic(), method, path, 503))
                    writer.write(slow_down_response())
                    await writer.drain()
                    continue
                if up is None:
                    up = await asyncio.open_connection(*self.upstream)
                up_r, up_w = up
                up_w.write(head + body)
                await up_w.drain()
                rhead = await _read_head(up_r)
                rline, rhdrs = _headers(rhead)
                status = int(rline.split(" ")[1])
                no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                rbody, close = (b"", False) if no_body else await _read_body(up_r, rhdrs, until_eof=True)
                if rhdrs.get("connection", "").lower() == "close":
                    close = True
                self.stats[method] += 1
                self.log.append((time.monotonic(), method, path, status))
                if method == "PUT" and self._hold_next_put is not None and status == 200:
                    hold, self._hold_next_put = self._hold_next_put, None
                    self.held_put_path = path
                    self.stats["held_puts"] += 1
                    self.put_completed.set()
                    await asyncio.sleep(hold)
                    if self.mode == "unreachable":
                        return
                writer.write(rhead + rbody)
                await writer.drain()
                if close:
                    up_w.transport.abort()
                    up = None
                    return
        finally:
            if up is not None:
                up[1].transport.abort()
