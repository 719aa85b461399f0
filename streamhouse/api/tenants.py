"""Organizations and their API keys over HTTP (platform admin; an organization's admin
keys see their own organization and manage its keys)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from broker.context import RequestContext
from broker.service import Broker
from broker.tenants import ApiKey, Organization

from . import models
from .deps import broker, context

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error}, 403: {"model": models.Error}, 404: {"model": models.Error}}


def _org(o: Organization) -> models.Organization:
    return models.Organization(id=o.id, slug=o.slug, name=o.name, plan=o.plan, status=o.status,
                               created_at=o.created_at)


def _key(k: ApiKey) -> models.ApiKey:
    return models.ApiKey(id=k.id, org_id=k.org_id, scope=k.scope, description=k.description,
                         created_at=k.created_at, expires_at=k.expires_at, revoked=k.revoked)


@router.post("", status_code=201, response_model=models.Organization,
             responses={**_ERRORS, 409: {"model": models.Error}})
async def create_organization(
    body: models.OrganizationCreate, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.Organization:
    return _org(await b.tenants.create_org(ctx, body.slug, body.name, body.plan))


@router.get("", response_model=list[models.Organization], responses=_ERRORS)
async def list_organizations(
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.Organization]:
    return [_org(o) for o in await b.tenants.list_orgs(ctx)]


@router.get("/{org_id}", response_model=models.Organization, responses=_ERRORS)
async def get_organization(
    org_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Organization:
    return _org(await b.tenants.get_org(ctx, org_id))


@router.patch("/{org_id}", response_model=models.Organization, responses=_ERRORS)
async def update_organization(
    org_id: str, body: models.OrganizationUpdate, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.Organization:
    return _org(await b.tenants.update_org(ctx, org_id, name=body.name, plan=body.plan,
                                           status=body.status))


@router.delete("/{org_id}", status_code=204, responses=_ERRORS)
async def delete_organization(
    org_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> Response:
    await b.tenants.delete_org(ctx, org_id)
    return Response(status_code=204)


@router.post("/{org_id}/api-keys", status_code=201, response_model=models.ApiKeyCreated,
             responses=_ERRORS)
async def create_api_key(
    org_id: str, body: models.ApiKeyCreate, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.ApiKeyCreated:
    key, secret = await b.tenants.create_api_key(ctx, org_id, body.scope, body.description,
                                                 body.expires_at)
    return models.ApiKeyCreated(**_key(key).model_dump(), secret=secret)


@router.get("/{org_id}/api-keys", response_model=list[models.ApiKey], responses=_ERRORS)
async def list_api_keys(
    org_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.ApiKey]:
    return [_key(k) for k in await b.tenants.list_api_keys(ctx, org_id)]


@router.delete("/{org_id}/api-keys/{key_id}", status_code=204, responses=_ERRORS)
async def revoke_api_key(
    org_id: str, key_id: str, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> Response:
    await b.tenants.revoke_api_key(ctx, org_id, key_id)
    return Response(status_code=204)


@router.get("/{org_id}/quotas", response_model=models.Quotas, responses=_ERRORS)
async def get_quotas(
    org_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Quotas:
    await b.tenants.get_org(ctx, org_id)
    return models.Quotas(org_id=org_id, quotas=await b.quotas.describe(ctx, org_id))


@router.put("/{org_id}/quotas", response_model=models.Quotas, responses=_ERRORS)
async def set_quota(
    org_id: str, body: models.QuotaSet, ctx: RequestContext = Depends(context),
    b: Broker = Depends(broker),
) -> models.Quotas:
    await b.tenants.get_org(ctx, org_id)
    await b.quotas.set(ctx, body.client_id, body.name, body.value, org_id=org_id)
    return models.Quotas(org_id=org_id, quotas=await b.quotas.describe(ctx, org_id))


@router.get("/{org_id}/usage", response_model=models.Usage, responses=_ERRORS)
async def usage(
    org_id: str, ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> models.Usage:
    u = await b.tenants.usage(ctx, b, org_id)
    return models.Usage(org_id=u.org_id, topics=u.topics, partitions=u.partitions,
                        records=u.records, storage_bytes=u.storage_bytes, bytes_in=u.bytes_in,
                        bytes_out=u.bytes_out)
