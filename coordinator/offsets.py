"""Consumer groups' durable part: which groups exist and their committed offsets."""

from __future__ import annotations

from dataclasses import dataclass

from .sql import Driver

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
        self, group_id: str, offsets: list[CommittedOffset], org_id: str = DEFAULT_ORG
    ) -> None:
        async with self.driver.transaction() as tx:
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
