"""Topics over HTTP: list, create, describe, change (partitions, config), delete; partitions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from broker.context import RequestContext
from broker.service import Broker
from broker.topics import ConfigChange, TopicDescription

from . import models
from .deps import broker, context

router = APIRouter(prefix="/api/v1/topics", tags=["topics"])


def _model(d: TopicDescription) -> models.Topic:
    t = d.topic
    return models.Topic(name=t.name, id=t.id, partitions=t.partition_count, config=t.config,
                        created_at=t.created_at, records=d.records, size_bytes=d.size_bytes,
                        written=sum(p.high_watermark for p in d.partitions),
                        last_append_at=max((p.last_append_at for p in d.partitions), default=0))


@router.get("", response_model=list[models.Topic])
async def list_topics(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.Topic]:
    return [_model(d) for d in await b.topics.describe_all(ctx)]


@router.post(
    "",
    status_code=201,
    response_model=models.Topic,
    responses={409: {"model": models.Error}, 422: {"model": models.Error}},
)
async def create_topic(
    body: models.TopicCreate, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Topic:
    await b.topics.create(ctx, body.name, body.partitions, dict(body.config))
    return _model(await b.topics.describe(ctx, body.name))


@router.get("/{name}", response_model=models.Topic, responses={404: {"model": models.Error}})
async def get_topic(
    name: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Topic:
    return _model(await b.topics.describe(ctx, name))


@router.patch(
    "/{name}",
    response_model=models.Topic,
    responses={404: {"model": models.Error}, 422: {"model": models.Error}},
)
async def update_topic(
    name: str, body: models.TopicUpdate, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.Topic:
    topic = await b.topics.require(ctx, name, refresh=True)
    if body.config is not None:
        changes = [ConfigChange(name=k, op="delete" if v is None else "set", value=v)
                   for k, v in body.config.items()]
        topic = await b.topics.alter_config(ctx, name, changes)
    if body.partitions is not None and body.partitions != topic.partition_count:
        await b.topics.add_partitions(ctx, name, body.partitions)
    return _model(await b.topics.describe(ctx, name))


@router.get(
    "/{name}/configs",
    response_model=list[models.TopicConfig],
    responses={404: {"model": models.Error}},
)
async def topic_configs(
    name: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.TopicConfig]:
    """Every config of the topic: its overrides and the defaults it takes."""
    topic = await b.topics.require(ctx, name, refresh=True)
    return [models.TopicConfig(name=e.name, value=e.value,
                               source="default" if e.is_default else "topic")
            for e in b.topics.config_entries(topic)]


@router.delete("/{name}", status_code=204, responses={404: {"model": models.Error}})
async def delete_topic(
    name: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> Response:
    await b.topics.delete(ctx, name)
    return Response(status_code=204)


@router.get(
    "/{name}/partitions",
    response_model=list[models.Partition],
    responses={404: {"model": models.Error}},
)
async def partitions(
    name: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.Partition]:
    d = await b.topics.describe(ctx, name)
    return [
        models.Partition(
            partition=p.partition,
            leader_agent=p.leader_agent,
            leader_epoch=p.leader_epoch,
            low_watermark=p.log_start_offset,
            high_watermark=p.high_watermark,
            size_bytes=p.size_bytes,
            records=p.high_watermark - p.log_start_offset,
            last_append_at=p.last_append_at,
        )
        for p in d.partitions
    ]
