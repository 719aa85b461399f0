"""Consumer lag: per group, topic and partition, the committed offset, high watermark and lag.

The one place lag is computed; the REST API, the CLI, the console and metrics use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .catalogue import DEFAULT_ORG, Catalogue, OrgId


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionLag:
    group_id: str
    topic: str
    partition: int
    committed_offset: int  # -1 when the group has no commit for the partition
    high_watermark: int
    log_start_offset: int
    lag: int


async def group_lag(
    catalogue: Catalogue, group_id: str, assigned: Iterable[str] = (), org_id: str = DEFAULT_ORG
) -> list[PartitionLag]:
    """Lag of every partition of every topic the group has committed offsets for, and of
    the `assigned` topics (its members' assignment: a group that has not committed yet).

    With no commit on a partition of such a topic, the lag counts from the log start
    (what an `earliest` consumer would still have to read).
    """
    committed = await catalogue.offsets.fetch(group_id, None, org_id)
    by_topic: dict[str, dict[int, int]] = {name: {} for name in assigned}
    for c in committed:
        by_topic.setdefault(c.topic, {})[c.partition] = c.offset
    out: list[PartitionLag] = []
    for name, offsets in sorted(by_topic.items()):
        topic = await catalogue.get_topic(name, OrgId(org_id))
        if topic is None:
            continue
        for p in await catalogue.list_partitions(topic.id):
            offset = offsets.get(p.partition, -1)
            start = offset if offset >= 0 else p.log_start_offset
            out.append(
                PartitionLag(
                    group_id=group_id,
                    topic=name,
                    partition=p.partition,
                    committed_offset=offset,
                    high_watermark=p.high_watermark,
                    log_start_offset=p.log_start_offset,
                    lag=max(p.high_watermark - max(start, p.log_start_offset), 0),
                )
            )
    return out


async def total_lag(catalogue: Catalogue, group_id: str, org_id: str = DEFAULT_ORG) -> int:
    return sum(p.lag for p in await group_lag(catalogue, group_id, (), org_id))
