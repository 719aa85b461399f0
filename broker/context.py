"""Who is calling: the principal, its organization, the client id and the peer address.

Every `broker/` operation takes a RequestContext first, so that a tenant boundary, an
ACL or a quota is decided in one place whatever the door the request came through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coordinator.catalogue import DEFAULT_ORG, OrgId

Door = Literal["kafka", "rest", "registry", "internal"]
PrincipalKind = Literal["anonymous", "api_key", "scram_user", "platform_admin", "agent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """An authenticated identity, named as Kafka names principals (`User:<name>`)."""

    name: str
    kind: PrincipalKind
    # What an API key may do in its organization: admin, read-write or read-only (None:
    # no limit, for the anonymous caller of an open agent and for the agent itself).
    scope: str | None = None

    @property
    def kafka_name(self) -> str:
        return f"User:{self.name}"


ANONYMOUS = Principal(name="ANONYMOUS", kind="anonymous")
AGENT = Principal(name="streamhouse-agent", kind="agent")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    principal: Principal
    org_id: OrgId
    door: Door
    client_id: str = ""
    peer: str = ""

    @classmethod
    def anonymous(cls, door: Door, *, client_id: str = "", peer: str = "") -> RequestContext:
        """An unauthenticated caller; while no credentials are configured every port is open
        and everything belongs to the default organization (DESIGN.md §13)."""
        return cls(principal=ANONYMOUS, org_id=DEFAULT_ORG, door=door, client_id=client_id,
                   peer=peer)


# The agent's own work (WAL hand-over, background tasks): the default organization.
INTERNAL = RequestContext(principal=AGENT, org_id=DEFAULT_ORG, door="internal")

__all__ = ["ANONYMOUS", "INTERNAL", "Door", "OrgId", "Principal", "RequestContext"]
