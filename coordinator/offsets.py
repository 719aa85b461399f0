"""Consumer groups' durable part: which groups exist and their committed offsets."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .sql import Driver, Session

DEFAULT_ORG = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommittedOffset:
    group_id: str
    topic: str
    partition: int
    offset: int
    leader_epoch: int
    metadata: str | None
    commit_time: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupLease:
    """Which agent coordinates a group, under which epoch, until when (ms)."""

    group_id: str
    agent_id: str
    epoch: int
    expires_at: int


class NotCoordinator(RuntimeError):
    """This agent no longer holds the group's coordinator lease (another agent took it)."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class OffsetStore:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def ensure_group(
        self, group_id: str, protocol_type: str, now: int, org_id: str = DEFAULT_ORG
    ) -> None:
        await self.driver.execute(
            "INSERT INTO consumer_groups (org_id, group_id, protocol_type, created_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, group_id) DO UPDATE SET"
            " protocol_type = CASE WHEN excluded.protocol_type = '' THEN"
            " consumer_groups.protocol_type ELSE excluded.protocol_type END",
            org_id,
            group_id,
            protocol_type,
            now,
        )

    # -- coordinator leases ----------------------------------------------------------

    async def coordinator(self, group_id: str, org_id: str = DEFAULT_ORG) -> GroupLease | None:
        row = await self.driver.fetchrow(
            "SELECT coordinator, epoch, lease_expires_at FROM group_coordinators"
            " WHERE org_id = $1 AND group_id = $2",
            org_id,
            group_id,
        )
        if row is None:
            return None
        return GroupLease(
            group_id=group_id, agent_id=str(row[0]), epoch=int(row[1]), expires_at=int(row[2])
        )

    async def claim(
        self, group_id: str, candidate: str, ttl_ms: int, org_id: str = DEFAULT_ORG
    ) -> GroupLease:
        """The group's coordinator: its holder while the lease runs, else `candidate` (new epoch)."""
        now = _now_ms()
        async with self.driver.transaction() as tx:
            await tx.execute(
                "INSERT INTO group_coordinators (org_id, group_id, coordinator, epoch,"
                " lease_expires_at) VALUES ($1, $2, $3, 0, 0) ON CONFLICT (org_id, group_id)"
                " DO NOTHING",
                org_id,
                group_id,
                candidate,
            )
            lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
            row = await tx.fetchrow(
                "SELECT coordinator, epoch, lease_expires_at FROM group_coordinators"
                f" WHERE org_id = $1 AND group_id = $2{lock}",
                org_id,
                group_id,
            )
            assert row is not None
            holder, epoch, expires = str(row[0]), int(row[1]), int(row[2])
            if expires > now:
                return GroupLease(group_id=group_id, agent_id=holder, epoch=epoch,
                                  expires_at=expires)
            epoch += 0 if holder == candidate and epoch > 0 else 1
            await tx.execute(
                "UPDATE group_coordinators SET coordinator = $3, epoch = $4, lease_expires_at = $5"
                " WHERE org_id = $1 AND group_id = $2",
                org_id,
                group_id,
                candidate,
                epoch,
                now + ttl_ms,
            )
        return GroupLease(group_id=group_id, agent_id=candidate, epoch=epoch,
                          expires_at=now + ttl_ms)

    async def renew_coordinations(self, agent_id: str, ttl_ms: int) -> None:
        await self.driver.execute(
            "UPDATE group_coordinators SET lease_expires_at = $2 WHERE coordinator = $1",
            agent_id,
            _now_ms() + ttl_ms,
        )

    async def release_coordinations(self, agent_id: str) -> None:
        await self.driver.execute(
            "UPDATE group_coordinators SET lease_expires_at = 0 WHERE coordinator = $1",
            agent_id,
        )

    @staticmethod
    async def _fence(tx: Session, group_id: str, agent_id: str, org_id: str) -> None:
        """Refuse a write by an agent whose coordinator lease another agent has taken."""
        lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
        row = await tx.fetchrow(
            "SELECT coordinator FROM group_coordinators WHERE org_id = $1 AND group_id = $2"
            + lock,
            org_id,
            group_id,
        )
        if row is not None and row[0] != agent_id:
            raise NotCoordinator(f"group {group_id!r} is coordinated by agent {row[0]} now")

    # -- groups -----------------------------------------------------------------------

    async def list_groups(self, org_id: str = DEFAULT_ORG) -> list[tuple[str, str]]:
        """(group id, protocol type) of every group known to the catalogue."""
        rows = await self.driver.fetch(
            "SELECT group_id, protocol_type FROM consumer_groups WHERE org_id = $1 ORDER BY group_id",
            org_id,
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def group_exists(self, group_id: str, org_id: str = DEFAULT_ORG) -> bool:
        row = await self.driver.fetchrow(
            "SELECT 1 FROM consumer_groups WHERE org_id = $1 AND group_id = $2", org_id, group_id
        )
        return row is not None

    async def delete_group(self, group_id: str, org_id: str = DEFAULT_ORG) -> bool:
        async with self.driver.transaction() as tx:
            existed = await tx.fetchrow(
                "SELECT 1 FROM consumer_groups WHERE org_id = $1 AND group_id = $2",
                org_id,
                group_id,
            )
            await tx.execute(
                "DELETE FROM consumer_offsets WHERE org_id = $1 AND group_id = $2", org_id, group_id
            )
            await tx.execute(
                "DELETE FROM consumer_groups WHERE org_id = $1 AND group_id = $2", org_id, group_id
            )
        return existed is not None

    async def commit(
        self,
        group_id: str,
        offsets: list[CommittedOffset],
        org_id: str = DEFAULT_ORG,
        *,
        coordinator: str | None = None,
    ) -> None:
        """Store offsets; with `coordinator`, only while that agent coordinates the group."""
        async with self.driver.transaction() as tx:
            if coordinator is not None:
                await self._fence(tx, group_id, coordinator, org_id)
            await tx.execute(
                "INSERT INTO consumer_groups (org_id, group_id, protocol_type, created_at)"
                " VALUES ($1, $2, '', $3) ON CONFLICT (org_id, group_id) DO NOTHING",
                org_id,
                group_id,
                offsets[0].commit_time if offsets else 0,
            )
            for o in offsets:
                await tx.execute(
                    "INSERT INTO consumer_offsets (org_id, group_id, topic, partition,"
                    " committed_offset, leader_epoch, metadata, commit_time)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    " ON CONFLICT (org_id, group_id, topic, partition) DO UPDATE SET"
                    " committed_offset = excluded.committed_offset,"
                    " leader_epoch = excluded.leader_epoch, metadata = excluded.metadata,"
                    " commit_time = excluded.commit_time",
                    org_id,
                    group_id,
                    o.topic,
                    o.partition,
                    o.offset,
                    o.leader_epoch,
                    o.metadata,
                    o.commit_time,
                )

    async def fetch(
        self, group_id: str, topic: str | None = None, org_id: str = DEFAULT_ORG
    ) -> list[CommittedOffset]:
        sql = (
            "SELECT topic, partition, committed_offset, leader_epoch, metadata, commit_time"
            " FROM consumer_offsets WHERE org_id = $1 AND group_id = $2"
        )
        args: list[object] = [org_id, group_id]
        if topic is not None:
            sql += " AND topic = $3"
            args.append(topic)
        rows = await self.driver.fetch(sql + " ORDER BY topic, partition", *args)
        return [
            CommittedOffset(
                group_id=group_id,
                topic=str(r[0]),
                partition=int(r[1]),
                offset=int(r[2]),
                leader_epoch=int(r[3]),
                metadata=r[4],
                commit_time=int(r[5]),
            )
            for r in rows
        ]

    async def delete_offsets(
        self, group_id: str, topic: str, partitions: list[int], org_id: str = DEFAULT_ORG
    ) -> None:
        async with self.driver.transaction() as tx:
            for p in partitions:
                await tx.execute(
                    "DELETE FROM consumer_offsets WHERE org_id = $1 AND group_id = $2"
                    " AND topic = $3 AND partition = $4",
                    org_id,
                    group_id,
                    topic,
                    p,
                )


class OrgOffsets:
    """The offset store as one organization sees it: every call scoped to its org id."""

    def __init__(self, store: OffsetStore, org_id: str) -> None:
        self.store = store
        self.org_id = org_id

    async def ensure_group(self, group_id: str, protocol_type: str, now: int) -> None:
        await self.store.ensure_group(group_id, protocol_type, now, self.org_id)

    async def coordinator(self, group_id: str) -> GroupLease | None:
        return await self.store.coordinator(group_id, self.org_id)

    async def claim(self, group_id: str, candidate: str, ttl_ms: int) -> GroupLease:
        return await self.store.claim(group_id, candidate, ttl_ms, self.org_id)

    async def list_groups(self) -> list[tuple[str, str]]:
        return await self.store.list_groups(self.org_id)

    async def group_exists(self, group_id: str) -> bool:
        return await self.store.group_exists(group_id, self.org_id)

    async def delete_group(self, group_id: str) -> bool:
        return await self.store.delete_group(group_id, self.org_id)

    async def commit(self, group_id: str, offsets: list[CommittedOffset], *,
                     coordinator: str | None = None) -> None:
        await self.store.commit(group_id, offsets, coordinator=coordinator, org_id=self.org_id)

    async def fetch(self, group_id: str, topic: str | None = None) -> list[CommittedOffset]:
        return await self.store.fetch(group_id, topic, self.org_id)

    async def delete_offsets(self, group_id: str, topic: str, partitions: list[int]) -> None:
        await self.store.delete_offsets(group_id, topic, partitions, self.org_id)
