"""One client connection: read frames, start each request at once, write responses in order.

A request that waits (a produce waiting for durability, a long-poll fetch) does
not stop the next one from being read and started (DESIGN.md §4.1). A frame
that cannot be trusted closes this connection only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from broker.context import AGENT, ANONYMOUS, OrgId, Principal, RequestContext
from broker.credentials import PEER_PREFIX, CredentialError, ScramServer, verify_peer_request
from broker.sessions import Session, Sessions
from broker.tenants import Login
from broker.types import DEFAULT_ORG

from . import metrics
from .codec import DecodeError, Request, UnsupportedApi, decode_request, encode_response
from .framing import FrameError, FrameReader

log = structlog.get_logger("streamhouse.kafka")

# Requests read ahead of their answers, per connection, bounded by count and by bytes: past
# either, nothing more is read from the socket until some are answered (TCP pushes back on
# the client); one request larger than the byte bound still goes through on its own.
#
# The count bound is also what makes librdkafka batch. It sends one Produce request per
# partition, as soon as a partition's linger expires; with acks=all each waits for the next
# flush. Read without bound, a producer writing 1,000 partitions keeps ~4,000 requests of
# ~10 records in flight and the agent spends its time on request overhead (bench/scale.py:
# 0.06-0.08 M msg/s); held at 128, the partitions' batches grow while they wait in the
# client and the same load runs at 0.18-0.25 M msg/s (with 50 flushes a second).
MAX_IN_FLIGHT = 128
MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024
_BEFORE_AUTH = frozenset({18, 17, 36})  # ApiVersions, SaslHandshake, SaslAuthenticate

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
        protocol: str = "PLAINTEXT",
        sessions: Sessions | None = None,
        peer_secret: bytes | None = None,
        precharge: Callable[[Request, Connection], int] | None = None,
        raw_sasl: Callable[[Connection, bytes], Awaitable[bytes | None]] | None = None,
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
        self._in_flight_bytes = 0
        self._room = asyncio.Event()
        self._room.set()
        self.closing = False
        # Who is calling, once authenticated (SASL); anonymous in the default organization
        # while no credentials are configured.
        self.principal: Principal = ANONYMOUS
        self.org_id: OrgId = DEFAULT_ORG
        self.protocol = protocol  # the listener's security protocol
        self.sasl_enabled = protocol in ("SASL_PLAINTEXT", "SASL_SSL")
        self.sasl_mechanism: str | None = None
        self.scram: tuple[ScramServer, Login | None] | None = None  # a SCRAM exchange under way
        self.login: Login | None = None
        self.session_deadline: float | None = None  # monotonic; re-authenticate before (KIP-368)
        self.closing_after_response = False  # a failed login: answer, then close
        self._sessions = sessions
        self._session: Session | None = None
        self.peer_secret = peer_secret  # checks other agents' signed requests
        self.muted_until = 0.0  # monotonic: over a quota, nothing is read until then
        self.precharge = precharge  # a produce's bytes against its quota, as it is read
        # After SaslHandshake v0 the SASL tokens come as bare frames until authenticated.
        self.raw_sasl = False
        self._raw_sasl_handler = raw_sasl
        self.client_id = ""  # of the last request (a bare SASL frame carries none)

    def authenticated(self, login: Login, lifetime_ms: int) -> None:
        self.login = login
        self.principal = login.principal
        self.org_id = login.org_id
        self.session_deadline = time.monotonic() + lifetime_ms / 1000 if lifetime_ms > 0 else None
        if self._sessions is not None:
            if self._session is not None:
                self._sessions.discard(self._session)
            self._session = Session(org_id=login.org_id, principal=login.principal.name,
                                    close=self.end_session)
            self._sessions.add(self._session)

    def mute_for(self, ms: int) -> None:
        self.muted_until = max(self.muted_until, time.monotonic() + ms / 1000)

    def _hold(self, task: asyncio.Task[bytes | None], size: int) -> None:
        """Count a request's frame against the in-flight bytes until it is answered."""
        self._in_flight_bytes += size
        if self._in_flight_bytes >= MAX_IN_FLIGHT_BYTES:
            self._room.clear()

        def release(_task: object) -> None:
            self._in_flight_bytes -= size
            if self._in_flight_bytes < MAX_IN_FLIGHT_BYTES:
                self._room.set()

        task.add_done_callback(release)

    async def _wait_if_muted(self) -> None:
        remaining = self.muted_until - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)

    def end_session(self, reason: str) -> None:
        """Close this connection now (its key was revoked, its organization suspended)."""
        log.info("connection_closed", peer=self.peer, principal=self.principal.name,
                 org=self.org_id, reason=reason)
        self.closing = True
        self.writer.close()

    def _refuse_before_auth(self, request: Request) -> str | None:
        """Why this request may not run on this connection now (None: it may)."""
        if not self.sasl_enabled or request.api_key in _BEFORE_AUTH:
            return None
        if self.login is None:
            return "request before authentication"
        if self.session_deadline is not None and time.monotonic() > self.session_deadline:
            return "session expired without re-authentication"
        return None

    def context(self, request: Request) -> RequestContext:
        if request.peer_org is not None:  # another agent, acting for an organization
            return RequestContext(principal=AGENT, org_id=OrgId(request.peer_org),
                                  door="kafka", client_id="streamhouse-agent", peer=self.peer)
        return RequestContext(principal=self.principal, org_id=self.org_id, door="kafka",
                              client_id=request.client_id or "", peer=self.peer)

    def _peer_request(self, request: Request) -> Request | None:
        """An agent's signed request, verified (None: forged, or no secret to check it)."""
        if self.peer_secret is None:
            log.warning("agent_request_refused", peer=self.peer, reason="no cluster secret here")
            return None
        try:
            org = verify_peer_request(self.peer_secret, request.client_id or "",
                                      request.api_key, request.correlation_id,
                                      memoryview(request.frame)[request.body_offset:])
        except CredentialError as exc:
            log.warning("agent_request_refused", peer=self.peer, reason=str(exc),
                        api_key=request.api_key)
            return None
        return dataclasses.replace(request, peer_org=org)

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
            if self._sessions is not None and self._session is not None:
                self._sessions.discard(self._session)
            metrics.CONNECTIONS.dec()

    async def _read_requests(self) -> None:
        while not self.closing:
            await self._wait_if_muted()
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
                if self.raw_sasl and self.login is None:
                    if not await self._raw_token(frame):
                        return
                    continue
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
                self.client_id = request.client_id or ""
                if (request.client_id or "").startswith(PEER_PREFIX):
                    verified = self._peer_request(request)
                    if verified is None:
                        self.closing = True
                        return
                    request = verified
                refused = None if request.peer_org is not None else self._refuse_before_auth(request)
                if refused is not None:
                    log.warning("connection_refused", peer=self.peer, reason=refused,
                                api_key=request.api_key, client_id=request.client_id)
                    self.closing = True
                    return
                await self._wait_if_muted()  # frames already read wait too
                if self.precharge is not None:
                    throttle = self.precharge(request, self)
                    if throttle:
                        self.mute_for(throttle)
                        request = dataclasses.replace(request, throttle_ms=throttle)
                task = asyncio.create_task(self._handle(request))
                self._hold(task, len(frame))
                await self._responses.put(task)
                await self._room.wait()

    async def _raw_token(self, frame: bytes) -> bool:
        """A bare SASL token (SaslHandshake v0): answered in order after the responses
        before it; False when the connection is to end."""
        if self._raw_sasl_handler is None:
            self.closing = True
            return False
        # The handshake's answer goes out first, and the token is handled after it.
        handler = self._raw_sasl_handler

        async def answer() -> bytes | None:
            result = await handler(self, bytes(frame))
            if result is None:
                self.closing_after_response = True
                return b""  # nothing to say: written as nothing, then the connection ends
            return result

        task = asyncio.create_task(answer())
        await self._responses.put(task)
        await asyncio.wait({task})  # the next frame is read under the outcome of this one
        return not self.closing_after_response

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
                if self.closing_after_response:  # a failed login: the answer, then the end
                    self.closing = True
                    await self.writer.drain()
                    self.writer.close()
                    return
                if self.writer.transport.get_write_buffer_size() > 1 << 20:
                    await self.writer.drain()


def _ready(data: bytes) -> asyncio.Task[bytes | None]:
    async def value() -> bytes | None:
        return data

    return asyncio.create_task(value())


__all__ = ["Connection", "encode_response"]
