"""What the routes need from the running agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import Request

if TYPE_CHECKING:
    from ..app import Agent


async def agent(request: Request) -> Agent:
    return cast("Agent", request.app.state.agent)
