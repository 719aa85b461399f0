"""Agents, cluster overview, metrics summary, health and readiness."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from coordinator.catalogue import Agent as AgentRow
from storage import metrics

from . import models
from .deps import agent
from .errors import not_found

if TYPE_CHECKING:
    from ..app import Agent

router = APIRouter(tags=["cluster"])


def _stale_after_ms(a: Agent) -> int:
    return 3 * a.settings.lease_ttl_ms


async def _agents(a: Agent) -> list[models.Agent]:
    now = int(time.time() * 1000)
    led: dict[str, int] = {}
    for topic in await a.catalogue.list_topics():
        for p in await a.catalogue.list_partitions(topic.id):
            if p.leader_agent is not None and p.lease_expires_at >= now:
                led[p.leader_agent] = led.get(p.leader_agent, 0) + 1
    return [_agent(a, row, now, led.get(row.id, 0)) for row in await a.catalogue.list_agents()]


def _agent(a: Agent, row: AgentRow, now: int, partitions_led: int) -> models.Agent:
    me = a.broker is not None and row.id == a.broker.agent.id
    return models.Agent(
        # This agent's own figures are live; the others' are from their last heartbeat.
        bytes_written=metrics.counter_total(metrics.PRODUCE_BYTES) if me else row.bytes_written,
        records_written=(
            metrics.counter_total(metrics.PRODUCE_RECORDS) if me else row.records_written
        ),
        id=row.id,
        broker_id=row.broker_id,
        host=row.host,
        port=row.port,
        rack=row.rack,
        group=row.group,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        uptime_seconds=max(now - row.started_at, 0) / 1000,
        healthy=now - row.heartbeat_at <= _stale_after_ms(a),
        partitions_led=partitions_led,
    )


@router.get("/api/v1/agents", response_model=list[models.Agent])
async def agents(a: Agent = Depends(agent)) -> list[models.Agent]:
    return await _agents(a)


@router.get(
    "/api/v1/agents/{agent_id}",
    response_model=models.AgentDetail,
    responses={404: {"model": models.Error}},
)
async def agent_detail(agent_id: str, a: Agent = Depends(agent)) -> models.AgentDetail:
    for row in await _agents(a):
        if row.id == agent_id:
            now = int(time.time() * 1000)
            leases = []
            for topic in await a.catalogue.list_topics():
                for p in await a.catalogue.list_partitions(topic.id):
                    if p.leader_agent == agent_id and p.lease_expires_at >= now:
                        leases.append(models.Lease(topic=topic.name, partition=p.partition,
                                                   epoch=p.leader_epoch,
                                                   expires_at=p.lease_expires_at))
            return models.AgentDetail(**row.model_dump(), leases=leases)
    raise not_found(f"agent {agent_id!r} is not registered")


@router.get("/api/v1/cluster", response_model=models.Cluster)
async def cluster(a: Agent = Depends(agent)) -> models.Cluster:
    rows = await _agents(a)
    partitions = 0
    storage = 0
    for topic in await a.catalogue.list_topics():
        for p in await a.catalogue.list_partitions(topic.id):
            partitions += 1
            storage += p.size_bytes
    return models.Cluster(
        cluster_id=a.settings.cluster_id,
        agents=rows,
        agents_healthy=sum(1 for r in rows if r.healthy),
        agents_stale=sum(1 for r in rows if not r.healthy),
        partitions=partitions,
        partitions_per_agent={r.id: r.partitions_led for r in rows},
        storage_bytes=storage,
    )


@router.get("/api/v1/metrics", response_model=models.MetricsSummary)
async def metrics_summary(a: Agent = Depends(agent)) -> models.MetricsSummary:
    topics = await a.catalogue.list_topics()
    partitions = [p for t in topics for p in await a.catalogue.list_partitions(t.id)]
    series = a.series.points if a.series is not None else []
    return models.MetricsSummary(
        topics=len(topics),
        partitions=len(partitions),
        produce_records_total=metrics.counter_total(metrics.PRODUCE_RECORDS),
        produce_bytes_total=metrics.counter_total(metrics.PRODUCE_BYTES),
        fetch_bytes_total=metrics.counter_total(metrics.FETCH_BYTES),
        storage_bytes=sum(p.size_bytes for p in partitions),
        series=[
            models.Point(t=t, produce_records_per_s=r, produce_bytes_per_s=b, fetch_bytes_per_s=f)
            for t, r, b, f in series
        ],
    )


@router.get("/health", response_model=models.Health)
async def health() -> models.Health:
    return models.Health(status="ok")


@router.get("/ready", response_model=models.Ready, responses={503: {"model": models.Ready}})
async def ready(a: Agent = Depends(agent)) -> JSONResponse:
    checks = await a.ready()
    ok = all(v == "ok" for v in checks.values())
    body = models.Ready(status="ready" if ok else "not ready", **checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
