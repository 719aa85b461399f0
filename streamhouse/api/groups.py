"""Consumer groups over HTTP: list, detail with lag, lag summary, reset, seek, delete.
The rules (the coordinator decides, a reset needs an empty group) are `broker.groups`'."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from broker.context import RequestContext
from broker.groups import GroupDescription, PartitionLag, assignment_partitions
from broker.service import Broker

from . import models
from .deps import broker, context
from .errors import not_found

router = APIRouter(prefix="/api/v1/consumer-groups", tags=["consumer groups"])


def _lag(rows: list[PartitionLag]) -> list[models.PartitionLagModel]:
    return [
        models.PartitionLagModel(topic=r.topic, partition=r.partition,
                                 committed_offset=r.committed_offset,
                                 high_watermark=r.high_watermark, lag=r.lag)
        for r in rows
    ]


async def _described(b: Broker, ctx: RequestContext, group_id: str) -> GroupDescription:
    desc = await b.groups.admin_describe(ctx, group_id)
    if desc is None:
        raise not_found(f"consumer group {group_id!r} does not exist")
    return desc


@router.get("", response_model=list[models.GroupSummary])
async def list_groups(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.GroupSummary]:
    return [
        models.GroupSummary(
            group_id=s.description.group_id,
            state=s.description.state,
            protocol_type=s.description.protocol_type,
            members=len(s.description.members),
            total_lag=sum(r.lag for r in s.lag),
        )
        for s in await b.groups.summaries(ctx)
    ]


@router.get(
    "/{group_id}", response_model=models.GroupDetail, responses={404: {"model": models.Error}}
)
async def group_detail(
    group_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.GroupDetail:
    desc = await _described(b, ctx, group_id)
    lag = _lag(await b.groups.lag(ctx, group_id, desc))
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
async def lag(
    group_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.PartitionLagModel]:
    desc = await _described(b, ctx, group_id)
    return _lag(await b.groups.lag(ctx, group_id, desc))


@router.get("/{group_id}/lag-history", response_model=list[models.LagPoint])
async def lag_history(
    group_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.LagPoint]:
    """The group's total lag every 10 s over the last hour, as this agent sampled it."""
    return [models.LagPoint(t=t, lag=lag) for t, lag in b.groups.lag_history(ctx, group_id)]


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
    group_id: str, body: models.OffsetReset, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.OffsetsChanged:
    rows = await b.groups.reset_offsets(
        ctx, group_id, body.strategy, topic=body.topic, partition=body.partition,
        offset=body.offset, timestamp=body.timestamp, dry_run=body.dry_run,
    )
    return models.OffsetsChanged(group_id=group_id, dry_run=body.dry_run, offsets=_lag(rows))


@router.post(
    "/{group_id}/seek",
    response_model=models.OffsetsChanged,
    responses={404: {"model": models.Error}, 409: {"model": models.Error}},
)
async def seek(
    group_id: str, body: models.Seek, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.OffsetsChanged:
    rows = await b.groups.reset_offsets(ctx, group_id, "specific", topic=body.topic,
                                        partition=body.partition, offset=body.offset)
    return models.OffsetsChanged(group_id=group_id, offsets=_lag(rows))


@router.delete(
    "/{group_id}",
    status_code=204,
    responses={404: {"model": models.Error}, 409: {"model": models.Error}},
)
async def delete(
    group_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> Response:
    await b.groups.admin_delete(ctx, group_id)
    return Response(status_code=204)
