"""What the routes need: the broker's operations and who is calling."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import Request

from broker.context import RequestContext
from broker.service import Broker

from .auth import context_of

if TYPE_CHECKING:
    from ..app import Agent


async def agent(request: Request) -> Agent:
    return cast("Agent", request.app.state.agent)


async def broker(request: Request) -> Broker:
    return cast("Agent", request.app.state.agent).require_broker()


async def context(request: Request) -> RequestContext:
    """Who is calling (401 when logins are on and the credentials are missing or wrong)."""
    return await context_of(cast("Agent", request.app.state.agent).require_broker(), request)
