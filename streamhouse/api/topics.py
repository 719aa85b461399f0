"""Topics: list, create, describe, change (partitions, config), delete; partitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Response

from coordinator.catalogue import Topic as CatalogueTopic
from protocol.broker import valid_topic_name
from storage.topic_config import validate

from . import models
from .deps import agent
from .errors import ApiError, topic_not_found

if TYPE_CHECKING:
    from ..app import Agent

router = APIRouter(prefix="/api/v1/topics", tags=["topics"])


async def _topic(a: Agent, name: str) -> CatalogueTopic:
    topic = await a.catalogue.get_topic(name)
    if topic is None:
        raise topic_not_found(name)
    return topic


async def _model(a: Agent, topic: CatalogueTopic) -> models.Topic:
    parts = await a.catalogue.list_partitions(topic.id)
    return models.Topic(
        name=topic.name,
        id=topic.id,
        partitions=topic.partition_count,
        config=topic.config,
        created_at=topic.created_at,
        records=sum(p.high_watermark - p.log_start_offset for p in parts),
        size_bytes=sum(p.size_bytes for p in parts),
    )


@router.get("", response_model=list[models.Topic])
async def list_topics(a: Agent = Depends(agent)) -> list[models.Topic]:
    return [await _model(a, t) for t in await a.catalogue.list_topics()]


@router.post(
    "",
    status_code=201,
    response_model=models.Topic,
    responses={409: {"model": models.Error}, 422: {"model": models.Error}},
)
async def create_topic(body: models.TopicCreate, a: Agent = Depends(agent)) -> models.Topic:
    reason = valid_topic_name(body.name)
    if reason:
        raise ApiError(422, "invalid_topic_name", reason)
    topic = await a.require_broker().create_topic(body.name, body.partitions, dict(body.config))
    return await _model(a, topic)


@router.get("/{name}", response_model=models.Topic, responses={404: {"model": models.Error}})
async def get_topic(name: str, a: Agent = Depends(agent)) -> models.Topic:
    return await _model(a, await _topic(a, name))


@router.patch(
    "/{name}",
    response_model=models.Topic,
    responses={404: {"model": models.Error}, 422: {"model": models.Error}},
)
async def update_topic(
    name: str, body: models.TopicUpdate, a: Agent = Depends(agent)
) -> models.Topic:
    topic = await _topic(a, name)
    logs = a.require_logs()
    if body.config is not None:
        merged: dict[str, str | None] = dict(topic.config)
        for key, value in body.config.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        topic = await a.catalogue.set_topic_config(name, validate(merged))
        logs.update_topic(topic)
    if body.partitions is not None and body.partitions != topic.partition_count:
        topic = await a.require_broker().add_partitions(name, body.partitions)
    return await _model(a, topic)


@router.delete("/{name}", status_code=204, responses={404: {"model": models.Error}})
async def delete_topic(name: str, a: Agent = Depends(agent)) -> Response:
    topic = await a.catalogue.delete_topic(name)
    await a.require_logs().delete_topic_data(topic)
    return Response(status_code=204)


@router.get(
    "/{name}/partitions",
    response_model=list[models.Partition],
    responses={404: {"model": models.Error}},
)
async def partitions(name: str, a: Agent = Depends(agent)) -> list[models.Partition]:
    topic = await _topic(a, name)
    out = []
    for p in await a.catalogue.list_partitions(topic.id):
        out.append(
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
        )
    return out
