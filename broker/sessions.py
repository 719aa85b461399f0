"""Live authenticated sessions (Kafka connections) by organization and credential, so that
suspending an organization or revoking a key ends them at once on this agent (other agents
end theirs at re-authentication, KIP-368)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from . import metrics

log = structlog.get_logger("streamhouse.auth")


@dataclass(eq=False, slots=True)
class Session:
    org_id: str
    principal: str
    close: Callable[[str], None]  # ends the connection, with the reason to log


class Sessions:
    def __init__(self) -> None:
        self._live: set[Session] = set()
        self._count: Counter[str] = Counter()

    def add(self, session: Session) -> None:
        if session not in self._live:
            self._live.add(session)
            self._count[session.org_id] += 1
            metrics.connections(session.org_id, self._count[session.org_id])

    def discard(self, session: Session) -> None:
        if session in self._live:
            self._live.discard(session)
            self._count[session.org_id] -= 1
            metrics.connections(session.org_id, self._count[session.org_id])

    def count(self, org_id: str) -> int:
        """The organization's live sessions on this agent."""
        return self._count[org_id]

    async def end(self, org_id: str, reason: str) -> int:
        return self._end([s for s in self._live if s.org_id == org_id], reason)

    async def end_key(self, principal: str, reason: str) -> int:
        return self._end([s for s in self._live if s.principal == principal], reason)

    def _end(self, sessions: list[Session], reason: str) -> int:
        for s in sessions:
            self.discard(s)
            s.close(reason)
        if sessions:
            log.info("sessions_ended", count=len(sessions), reason=reason)
        return len(sessions)
