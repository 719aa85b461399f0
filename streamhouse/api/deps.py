"""What the routes need: the broker's operations and who is calling."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import Request

from broker.context import RequestContext
from broker.service import Broker

if TYPE_CHECKING:
    from ..app import Agent


async def agent(request: Request) -> Agent:
    return cast("Agent", request.app.state.agent)


async def broker(request: Request) -> Broker:
    return cast("Agent", request.app.state.agent).require_broker()


async def context(request: Request) -> RequestContext:
    client = request.client
    peer = f"{client.host}:{client.port}" if client is not None else ""
    a = cast("Agent", request.app.state.agent)
    return a.context(client_id=request.headers.get("user-agent", ""), peer=peer)
