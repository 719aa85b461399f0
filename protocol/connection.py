"""One client connection: read frames, start each request at once, write responses in order.

A request that waits (a produce waiting for durability, a long-poll fetch) does
not stop the next one from being read and started (DESIGN.md §4.1). A frame
that cannot be trusted closes this connection only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from broker.context import ANONYMOUS, OrgId, Principal, RequestContext
from broker.types import DEFAULT_ORG

from . import metrics
from .codec import DecodeError, Request, UnsupportedApi, decode_request, encode_response
from .framing import FrameError, FrameReader

log = structlog.get_logger("streamhouse.kafka")

MAX_IN_FLIGHT = 128

Handler = Callable[[Request, "Connection"], Awaitable[Any]]


class Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        dispatch: Callable[[Request, Connection], Awaitable[bytes | None]],
        unsupported: Callable[[UnsupportedApi], bytes | None],
        supported: dict[int, tuple[int, int]],
        max_frame_bytes: int,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.dispatch = dispatch
        self.unsupported = unsupported
        self.supported = supported
        self.frames = FrameReader(max_frame_bytes)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._responses: asyncio.Queue[asyncio.Task[bytes | None] | None] = asyncio.Queue(
            MAX_IN_FLIGHT
        )
        self.closing = False
        # Who is calling, once authenticated (SASL); anonymous in the default organization
        # while no credentials are configured.
        self.principal: Principal = ANONYMOUS
        self.org_id: OrgId = DEFAULT_ORG

    def context(self, request: Request) -> RequestContext:
        return RequestContext(principal=self.principal, org_id=self.org_id, door="kafka",
                              client_id=request.client_id or "", peer=self.peer)

    async def serve(self) -> None:
        metrics.CONNECTIONS.inc()
        writer_task = asyncio.create_task(self._write_responses())
        try:
            await self._read_requests()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self._responses.put(None)
            try:
                await writer_task
            except (ConnectionError, asyncio.CancelledError):
                pass
            self.writer.close()
            metrics.CONNECTIONS.dec()

    async def _read_requests(self) -> None:
        while not self.closing:
            data = await self.reader.read(262144)
            if not data:
                return
            self.frames.feed(data)
            while True:
                try:
                    frame = self.frames.next_frame()
                except FrameError as exc:
                    log.warning("bad_frame", peer=self.peer, error=str(exc))
                    self.closing = True
                    return
                if frame is None:
                    break
                try:
                    request = decode_request(frame, self.supported)
                except UnsupportedApi as exc:
                    answer = self.unsupported(exc)
                    log.warning(
                        "unsupported_api",
                        peer=self.peer,
                        api_key=exc.api_key,
                        api_version=exc.api_version,
                        answered=answer is not None,
                    )
                    if answer is None:
                        self.closing = True
                        return
                    await self._responses.put(_ready(answer))
                    continue
                except DecodeError as exc:
                    log.warning("malformed_request", peer=self.peer, error=str(exc))
                    self.closing = True
                    return
                task = asyncio.create_task(self._handle(request))
                await self._responses.put(task)

    async def _handle(self, request: Request) -> bytes | None:
        try:
            return await self.dispatch(request, self)
        except Exception:
            # Only a request with no place for an error code gets here (dispatch answers
            # the others): the client cannot be told, so this connection ends.
            log.exception(
                "request_unanswerable",
                peer=self.peer,
                api_key=request.api_key,
                api_version=request.api_version,
                client_id=request.client_id,
            )
            self.closing = True
            raise

    async def _write_responses(self) -> None:
        while True:
            task = await self._responses.get()
            if task is None:
                return
            try:
                data = await task
            except Exception:
                self.writer.close()
                return
            if data is not None:
                self.writer.write(data)
                if self.writer.transport.get_write_buffer_size() > 1 << 20:
                    await self.writer.drain()


def _ready(data: bytes) -> asyncio.Task[bytes | None]:
    async def value() -> bytes | None:
        return data

    return asyncio.create_task(value())


__all__ = ["Connection", "encode_response"]
