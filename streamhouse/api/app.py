"""The FastAPI app of the HTTP side port, and the uvicorn server that runs it in the agent's loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import acls, cluster, errors, groups, models, records, tenants, topics
from .auth import context_of

if TYPE_CHECKING:
    from ..app import Agent


def create_app(
    agent: Agent, cors_origins: list[str] | None = None, *, console: bool = False,
    registry: FastAPI | None = None,
) -> FastAPI:
    app = FastAPI(
        title="StreamHouse",
        version="0.1.0",
        description="REST API of a StreamHouse agent: topics, records, consumer groups, cluster.",
    )
    app.state.agent = agent
    if cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    errors.install(app)
    for module in (topics, records, groups, cluster, tenants, acls):
        app.include_router(module.router)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        # Bodies validated by their routes (models.openapi_components) join the schemas.
        if app.openapi_schema is None:
            schema = base_openapi()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(models.openapi_components())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        # With logins on, the agent's metrics are the platform's: its admin only.
        ctx = await context_of(agent.require_broker(), request)
        if agent.require_broker().tenants.enabled:
            agent.require_broker().tenants.require_platform_admin(ctx)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if registry is not None:
        app.mount("/registry", registry)  # the schema registry's API, for the console
    if console:  # last: its catch-all answers only what no route above does
        from .. import console as web

        web.mount(app)
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the agent owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    def __init__(self, app: FastAPI, host: str, port: int,
                 tls: tuple[str, str] | None = None) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            ssl_certfile=tls[0] if tls else None,  # HTTPS with the listeners' certificate
            ssl_keyfile=tls[1] if tls else None,
        )
        self.server = _EmbeddedServer(config)
        self.address = f"{host}:{port}"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._serve(), name="http")
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises the OSError of _serve
                raise OSError(f"cannot serve HTTP on {self.address}")
            await asyncio.sleep(0.01)

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:
            # uvicorn logs a bind error and calls sys.exit(): a SystemExit inside a task
            # would stop the whole event loop, so it becomes an ordinary error here.
            raise OSError(f"cannot serve HTTP on {self.address} (is the port in use?)") from None

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is None:
            return
        if self._task.done():
            return  # it failed to start, and start() reported why
        await self._task
