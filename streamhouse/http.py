"""The HTTP side port, for now: /health, /ready and /metrics (the REST API comes with its issue)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from .app import Agent


class HttpSide:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
                path = line[1].split("?", 1)[0] if len(line) > 1 else "/"
                status, ctype, body = await self._route(path)
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _route(self, path: str) -> tuple[str, str, bytes]:
        if path == "/health":
            return "200 OK", "application/json", b'{"status":"ok"}'
        if path == "/ready":
            checks = await self.agent.ready()
            ok = all(v == "ok" for v in checks.values())
            return (
                "200 OK" if ok else "503 Service Unavailable",
                "application/json",
                json.dumps({"status": "ready" if ok else "not ready", **checks}).encode(),
            )
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        return (
            "404 Not Found",
            "application/json",
            json.dumps({"error": "not_found", "message": f"no route {path}"}).encode(),
        )
