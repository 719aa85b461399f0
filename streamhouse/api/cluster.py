"""Agents, cluster overview, metrics summary, health and readiness."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from broker.cluster import AgentStatus
from broker.context import RequestContext
from broker.service import Broker

from . import models
from .deps import agent, broker, context
from .errors import not_found

if TYPE_CHECKING:
    from ..app import Agent

router = APIRouter(tags=["cluster"])


def _agent(s: AgentStatus) -> models.Agent:
    row = s.agent
    now = int(time.time() * 1000)
    return models.Agent(
        bytes_written=s.bytes_written,
        records_written=s.records_written,
        id=row.id,
        broker_id=row.broker_id,
        host=row.host,
        port=row.port,
        rack=row.rack,
        group=row.group,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        uptime_seconds=max(now - row.started_at, 0) / 1000,
        healthy=s.healthy,
        partitions_led=s.partitions_led,
    )


@router.get("/api/v1/agents", response_model=list[models.Agent])
async def agents(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.Agent]:
    return [_agent(s) for s in await b.cluster.agents(ctx)]


@router.get(
    "/api/v1/agents/{agent_id}",
    response_model=models.AgentDetail,
    responses={404: {"model": models.Error}},
)
async def agent_detail(
    agent_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.AgentDetail:
    for status in await b.cluster.agents(ctx):
        if status.agent.id == agent_id:
            leases = [models.Lease(topic=x.topic, partition=x.partition, epoch=x.epoch,
                                   expires_at=x.expires_at)
                      for x in await b.cluster.leases_of(ctx, agent_id)]
            return models.AgentDetail(**_agent(status).model_dump(), leases=leases)
    raise not_found(f"agent {agent_id!r} is not registered")


@router.get("/api/v1/cluster", response_model=models.Cluster)
async def cluster(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Cluster:
    status = await b.cluster.status(ctx)
    rows = [_agent(s) for s in status.agents]
    return models.Cluster(
        cluster_id=status.cluster_id,
        agents=rows,
        agents_healthy=sum(1 for r in rows if r.healthy),
        agents_stale=sum(1 for r in rows if not r.healthy),
        partitions=status.partitions,
        partitions_per_agent={r.id: r.partitions_led for r in rows},
        storage_bytes=status.storage_bytes,
    )


@router.get("/api/v1/metrics", response_model=models.MetricsSummary)
async def metrics_summary(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker), a: Agent = Depends(agent)
) -> models.MetricsSummary:
    totals = await b.cluster.totals(ctx)
    series = a.series.points if a.series is not None else []
    return models.MetricsSummary(
        topics=totals.topics,
        partitions=totals.partitions,
        produce_records_total=totals.produce_records,
        produce_bytes_total=totals.produce_bytes,
        fetch_bytes_total=totals.fetch_bytes,
        storage_bytes=totals.storage_bytes,
        series=[
            models.Point(t=t, produce_records_per_s=r, produce_bytes_per_s=b, fetch_bytes_per_s=f,
                         fetch_records_per_s=fr)
            for t, r, b, f, fr in series
        ],
    )


@router.get("/api/v1/cluster/object-store", response_model=models.ObjectStoreHealth)
async def object_store(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.ObjectStoreHealth:
    """This agent's circuit breaker and rate limits towards the object store."""
    return models.ObjectStoreHealth.model_validate(b.cluster.object_store_health(ctx))


@router.get("/api/v1/whoami", response_model=models.Whoami)
async def whoami(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Whoami:
    """Who the credentials are and in which organization they act (the console's sign-in)."""
    org = await b.tenants.get_org(ctx, ctx.org_id)
    p = ctx.principal
    return models.Whoami(
        auth=b.tenants.enabled, principal=p.name, kind=p.kind, scope=p.scope, org_id=org.id,
        org_slug=org.slug, org_name=org.name, platform_admin=p.kind == "platform_admin",
        can_write=p.scope != "read-only")


@router.get("/health", response_model=models.Health)
async def health() -> models.Health:
    return models.Health(status="ok")


@router.get("/ready", response_model=models.Ready, responses={503: {"model": models.Ready}})
async def ready(a: Agent = Depends(agent)) -> JSONResponse:
    checks = await a.ready()
    ok = all(v == "ok" for v in checks.values())
    body = models.Ready(status="ready" if ok else "not ready", **checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
