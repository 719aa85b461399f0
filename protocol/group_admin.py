"""Group administration from any agent: answered here when this agent coordinates the
group, else asked of its coordinator over the Kafka protocol (DescribeGroups,
OffsetCommit as an admin client sends it, DeleteGroups), so that the REST API gives the
same answer whichever agent it reaches and the coordinator stays the one that decides
(an offset reset is refused there unless the group is empty)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from coordinator.groups import EMPTY, GroupDescription, MemberDescription
from coordinator.offsets import CommittedOffset

from . import client
from .groups import DELETE, DESCRIBE, OFFSET_COMMIT, coordinator_for

if TYPE_CHECKING:
    from coordinator.catalogue import Agent

    from .broker import Broker


class CoordinatorUnreachable(RuntimeError):
    """The group's coordinator did not answer."""


class GroupAdmin:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def _remote(self, group_id: str) -> Agent | None:
        agent = await coordinator_for(self.broker, group_id)
        return None if agent.id == self.broker.agent.id else agent

    async def _call(self, agent: Agent, api_key: int, version: int, body: dict) -> object:
        try:
            return await client.call(agent.host, agent.port, api_key, version, body)
        except (OSError, TimeoutError, EOFError) as exc:
            raise CoordinatorUnreachable(
                f"the coordinator of this group (agent {agent.id} at {agent.host}:{agent.port})"
                f" did not answer: {exc}"
            ) from exc

    async def describe(self, group_id: str) -> GroupDescription | None:
        remote = await self._remote(group_id)
        if remote is None:
            return await self.broker.groups.describe(group_id)
        response = await self._call(remote, DESCRIBE, 5, {"groups": [group_id]})
        g = response.groups[0]  # type: ignore[attr-defined]
        if g.error_code != ErrorCode.none:
            raise CoordinatorUnreachable(f"the coordinator answered {g.error_code.name}")
        if g.group_state == "Dead":
            return None
        return GroupDescription(
            group_id=group_id,
            state=g.group_state,
            protocol_type=g.protocol_type,
            protocol_name=g.protocol_data,
            members=[
                MemberDescription(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    metadata=bytes(m.member_metadata),
                    assignment=bytes(m.member_assignment),
                )
                for m in g.members
            ],
        )

    async def state(self, group_id: str) -> str:
        desc = await self.describe(group_id)
        return desc.state if desc is not None else EMPTY

    async def commit(self, group_id: str, offsets: list[CommittedOffset]) -> str:
        """Commit as an admin client does (no member, no generation): only an empty group
        takes it. Returns the error name ("none" when done)."""
        remote = await self._remote(group_id)
        if remote is None:
            return await self.broker.groups.commit_offsets(group_id, -1, "", None, offsets)
        by_topic: dict[str, list[dict]] = {}
        for o in offsets:
            by_topic.setdefault(o.topic, []).append({
                "partition_index": o.partition, "committed_offset": o.offset,
                "committed_leader_epoch": o.leader_epoch, "committed_metadata": o.metadata,
            })
        response = await self._call(remote, OFFSET_COMMIT, 8, {
            "group_id": group_id, "generation_id_or_member_epoch": -1, "member_id": "",
            "group_instance_id": None,
            "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
        })
        for t in response.topics:  # type: ignore[attr-defined]
            for p in t.partitions:
                if p.error_code != ErrorCode.none:
                    return str(p.error_code.name)
        return "none"

    async def delete(self, group_id: str) -> str:
        remote = await self._remote(group_id)
        if remote is None:
            return await self.broker.groups.delete_group(group_id)
        response = await self._call(remote, DELETE, 2, {"groups_names": [group_id]})
        return str(response.results[0].error_code.name)  # type: ignore[attr-defined]

    async def describe_all(self) -> list[GroupDescription]:
        """Every group in the catalogue or coordinated here, as its coordinator sees it."""
        out = []
        for group_id, _ptype, _state in await self.broker.groups.list_groups():
            desc = await self.describe(group_id)
            if desc is not None:
                out.append(desc)
        return out
