"""Consumer groups over HTTP: list, detail with lag, lag summary, reset, seek, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Response

from coordinator.consumer_protocol import assignment_partitions
from coordinator.groups import DEAD, EMPTY, GroupDescription
from coordinator.lag import PartitionLag, group_lag
from coordinator.offsets import CommittedOffset

from . import models
from .deps import agent
from .errors import ApiError, not_found, topic_not_found

if TYPE_CHECKING:
    from ..app import Agent

router = APIRouter(prefix="/api/v1/consumer-groups", tags=["consumer groups"])


def _assigned_topics(desc: GroupDescription) -> set[str]:
    """The topics the group's members are assigned (consumer protocol), committed or not."""
    if desc.protocol_type != "consumer":
        return set()
    return {t for m in desc.members for t in assignment_partitions(m.assignment)}


def _lag(rows: list[PartitionLag]) -> list[models.PartitionLagModel]:
    return [
        models.PartitionLagModel(
            topic=r.topic,
            partition=r.partition,
            committed_offset=r.committed_offset,
            high_watermark=r.high_watermark,
            lag=r.lag,
        )
        for r in rows
    ]


@router.get("", response_model=list[models.GroupSummary])
async def list_groups(a: Agent = Depends(agent)) -> list[models.GroupSummary]:
    out = []
    for desc in await a.group_admin().describe_all():
        lag = await group_lag(a.catalogue, desc.group_id, _assigned_topics(desc))
        out.append(
            models.GroupSummary(
                group_id=desc.group_id,
                state=desc.state,
                protocol_type=desc.protocol_type,
                members=len(desc.members),
                total_lag=sum(r.lag for r in lag),
            )
        )
    return out


@router.get(
    "/{group_id}", response_model=models.GroupDetail, responses={404: {"model": models.Error}}
)
async def group_detail(group_id: str, a: Agent = Depends(agent)) -> models.GroupDetail:
    desc = await a.group_admin().describe(group_id)
    if desc is None:
        raise not_found(f"consumer group {group_id!r} does not exist")
    lag = _lag(await group_lag(a.catalogue, group_id, _assigned_topics(desc)))
    return models.GroupDetail(
        group_id=group_id,
        state=desc.state,
        protocol_type=desc.protocol_type,
        protocol=desc.protocol_name,
        offsets=lag,
        total_lag=sum(r.lag for r in lag),
        members=[
            models.GroupMember(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                assignment=[
                    models.TopicAssignment(topic=t, partitions=ps)
                    for t, ps in sorted(assignment_partitions(m.assignment).items())
                ],
            )
            for m in desc.members
        ],
    )


@router.get(
    "/{group_id}/lag",
    response_model=list[models.PartitionLagModel],
    responses={404: {"model": models.Error}},
)
async def lag(group_id: str, a: Agent = Depends(agent)) -> list[models.PartitionLagModel]:
    desc = await a.group_admin().describe(group_id)
    if desc is None:
        raise not_found(f"consumer group {group_id!r} does not exist")
    return _lag(await group_lag(a.catalogue, group_id, _assigned_topics(desc)))


async def _require_empty(a: Agent, group_id: str) -> None:
    state = await a.group_admin().state(group_id)
    if state not in (EMPTY, DEAD):
        raise ApiError(
            409,
            "group_not_empty",
            f"consumer group {group_id!r} is {state}: stop its consumers first",
        )


async def _commit(
    a: Agent, group_id: str, targets: list[tuple[str, int, int]]
) -> models.OffsetsChanged:
    import time

    now = int(time.time() * 1000)
    offsets = [
        CommittedOffset(
            group_id=group_id,
            topic=t,
            partition=p,
            offset=o,
            leader_epoch=-1,
            metadata=None,
            commit_time=now,
        )
        for t, p, o in targets
    ]
    error = await a.group_admin().commit(group_id, offsets)
    if error != "none":
        raise ApiError(409, error, f"the offsets of {group_id!r} cannot change now: {error}")
    return models.OffsetsChanged(
        group_id=group_id, offsets=_lag(await group_lag(a.catalogue, group_id))
    )


@router.post(
    "/{group_id}/reset",
    response_model=models.OffsetsChanged,
    responses={
        404: {"model": models.Error},
        409: {"model": models.Error},
        422: {"model": models.Error},
    },
)
async def reset(
    group_id: str, body: models.OffsetReset, a: Agent = Depends(agent)
) -> models.OffsetsChanged:
    await _require_empty(a, group_id)
    logs = a.require_logs()
    committed = await a.catalogue.offsets.fetch(group_id)
    if body.topic is not None:
        topics = [body.topic]
    else:
        topics = sorted({c.topic for c in committed})
        if not topics:
            raise ApiError(422, "no_topic", f"group {group_id!r} has no offsets yet: name a topic")
    if body.strategy == "specific" and body.offset is None:
        raise ApiError(422, "invalid_request", "strategy specific needs an offset")
    if body.strategy == "timestamp" and body.timestamp is None:
        raise ApiError(422, "invalid_request", "strategy timestamp needs a timestamp")
    targets = []
    for name in topics:
        topic = await logs.topic(name)
        if topic is None:
            raise topic_not_found(name)
        partitions = (
            [body.partition] if body.partition is not None else list(range(topic.partition_count))
        )
        for p in partitions:
            if p >= topic.partition_count:
                raise ApiError(404, "partition_not_found", f"{name} has no partition {p}")
            plog = await logs.partition(topic, p)
            if body.strategy == "earliest":
                offset = plog.log_start_offset
            elif body.strategy == "latest":
                offset = plog.high_watermark
            elif body.strategy == "specific":
                assert body.offset is not None
                offset = min(max(body.offset, plog.log_start_offset), plog.high_watermark)
            else:
                assert body.timestamp is not None
                found, _ts = await logs.offset_for_timestamp(plog, body.timestamp)
                offset = found if found >= 0 else plog.high_watermark
            targets.append((name, p, offset))
    return await _commit(a, group_id, targets)


@router.post(
    "/{group_id}/seek",
    response_model=models.OffsetsChanged,
    responses={404: {"model": models.Error}, 409: {"model": models.Error}},
)
async def seek(
    group_id: str, body: models.Seek, a: Agent = Depends(agent)
) -> models.OffsetsChanged:
    return await reset(
        group_id,
        models.OffsetReset(
            strategy="specific", topic=body.topic, partition=body.partition, offset=body.offset
        ),
        a,
    )


@router.delete(
    "/{group_id}",
    status_code=204,
    responses={404: {"model": models.Error}, 409: {"model": models.Error}},
)
async def delete(group_id: str, a: Agent = Depends(agent)) -> Response:
    error = await a.group_admin().delete(group_id)
    if error == "non_empty_group":
        raise ApiError(409, "group_not_empty", f"consumer group {group_id!r} has members")
    if error == "group_id_not_found":
        raise not_found(f"consumer group {group_id!r} does not exist")
    return Response(status_code=204)
