"""ACLs over HTTP: the organization's bindings, as Kafka's CreateAcls, DescribeAcls and
DeleteAcls have them (`kafka-acls.sh`), for the console. Names, not numbers:
`{"resource_type": "TOPIC", "resource_name": "orders", "pattern_type": "LITERAL",
"principal": "User:reader", "host": "*", "operation": "READ", "permission": "ALLOW"}`.
With logins off there is no authorizer (409 security_disabled), as over Kafka."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from broker import errors
from broker.acls import (
    AclBinding,
    AclFilter,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    check_binding,
)
from broker.context import RequestContext
from broker.service import Broker

from . import models
from .deps import broker, context

router = APIRouter(prefix="/api/v1/acls", tags=["acls"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error}, 403: {"model": models.Error}, 409: {"model": models.Error},
    422: {"model": models.Error}}


def _enum(kind: type[Any], value: str | None, what: str, default: Any) -> Any:
    if value is None:
        return default
    try:
        return kind[value.upper()]
    except KeyError:
        names = ", ".join(m.name for m in kind if m.name not in ("UNKNOWN",))
        raise errors.InvalidRequest(f"{what} {value!r} is not one of {names}") from None


def _model(b: AclBinding) -> models.Acl:
    return models.Acl(resource_type=b.resource_type.name, resource_name=b.resource_name,
                      pattern_type=b.pattern_type.name, principal=b.principal, host=b.host,
                      operation=b.operation.name, permission=b.permission.name)


def _binding(a: models.Acl) -> AclBinding:
    return AclBinding(
        resource_type=_enum(ResourceType, a.resource_type, "resource_type", None),
        resource_name=a.resource_name,
        pattern_type=_enum(PatternType, a.pattern_type, "pattern_type", None),
        principal=a.principal, host=a.host,
        operation=_enum(Operation, a.operation, "operation", None),
        permission=_enum(Permission, a.permission, "permission", None))


def _filter(resource_type: str | None, resource_name: str | None, pattern_type: str | None,
            principal: str | None, host: str | None, operation: str | None,
            permission: str | None) -> AclFilter:
    return AclFilter(
        resource_type=_enum(ResourceType, resource_type, "resource_type", ResourceType.ANY),
        resource_name=resource_name,
        pattern_type=_enum(PatternType, pattern_type, "pattern_type", PatternType.ANY),
        principal=principal, host=host,
        operation=_enum(Operation, operation, "operation", Operation.ANY),
        permission=_enum(Permission, permission, "permission", Permission.ANY))


@router.get("", response_model=list[models.Acl], responses=_ERRORS)
async def list_acls(
    resource_type: str | None = None, resource_name: str | None = None,
    pattern_type: str | None = None, principal: str | None = None, host: str | None = None,
    operation: str | None = None, permission: str | None = None,
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker),
) -> list[models.Acl]:
    """The bindings the filter matches (every one without a filter); pattern_type=MATCH
    gives those that apply to the named resource, prefixes and wildcards included."""
    flt = _filter(resource_type, resource_name, pattern_type, principal, host, operation,
                  permission)
    return [_model(x) for x in await b.acls.describe(ctx, flt)]


@router.post("", status_code=201, response_model=list[models.Acl], responses=_ERRORS)
async def create_acls(
    body: list[models.Acl], ctx: RequestContext = Depends(context), b: Broker = Depends(broker)
) -> list[models.Acl]:
    """All or nothing: a binding Kafka would refuse is a 422 naming it, and none is made."""
    bindings = [_binding(a) for a in body]
    for i, binding in enumerate(bindings):
        try:
            check_binding(binding)
        except errors.InvalidRequest as exc:
            raise errors.InvalidRequest(f"binding {i}: {exc.message}") from None
    await b.acls.create(ctx, bindings)
    return [_model(x) for x in bindings]


@router.delete("", response_model=list[models.Acl], responses=_ERRORS)
async def delete_acls(
    resource_type: str | None = Query(default=None), resource_name: str | None = None,
    pattern_type: str | None = None, principal: str | None = None, host: str | None = None,
    operation: str | None = None, permission: str | None = None,
    ctx: RequestContext = Depends(context), b: Broker = Depends(broker),
) -> list[models.Acl]:
    """Delete what the filter matches; answers the bindings removed. A filter must name
    something: deleting every binding takes resource_type=ANY explicitly."""
    if all(v is None for v in (resource_type, resource_name, pattern_type, principal, host,
                               operation, permission)):
        raise errors.InvalidRequest("name what to delete (resource_type=ANY deletes all)")
    flt = _filter(resource_type, resource_name, pattern_type, principal, host, operation,
                  permission)
    (removed,) = await b.acls.delete(ctx, [flt])
    return [_model(x) for x in removed]
