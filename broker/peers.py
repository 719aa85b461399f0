"""What this agent asks of the other agents, as an interface: the Kafka front door
implements it (`protocol.client`), so `broker/` needs no wire code of its own.

REST produce hands records for partitions led elsewhere to their leader; group
administration asks a group's coordinator wherever it runs. Each request acts for one
organization, which it carries signed with the cluster's shared secret
(`broker.credentials.sign_peer_request`): the receiving agent serves it in that
organization, as the agent itself.
"""

from __future__ import annotations

from typing import Protocol

from coordinator.catalogue import Agent
from coordinator.groups import GroupDescription
from coordinator.offsets import CommittedOffset


class Peers(Protocol):
    def use_secret(self, secret: bytes) -> None:
        """The cluster's shared secret to sign requests with (set as the catalogue opens,
        before the WAL replay may need to hand batches over)."""
        ...

    async def produce(
        self, agent: Agent, org_id: str, topic: str, partition: int, records: bytes, *, acks: int
    ) -> int:
        """Produce a record set at `agent`; its base offset, or a BrokerError."""
        ...

    async def describe_group(
        self, agent: Agent, org_id: str, group_id: str
    ) -> GroupDescription | None:
        ...

    async def commit_offsets(
        self, agent: Agent, org_id: str, group_id: str, offsets: list[CommittedOffset]
    ) -> None:
        """Commit as an admin client does; raises the coordinator's refusal as a BrokerError."""
        ...

    async def delete_group(self, agent: Agent, org_id: str, group_id: str) -> None:
        ...
