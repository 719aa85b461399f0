"""Who an HTTP request is: `Authorization: Bearer <key id>:<secret>` (or the platform
admin's secret), or HTTP Basic `key id:secret` as Confluent's serializers send
`basic.auth.user.info`. Open (anonymous, the default organization) while no platform
admin key is configured."""

from __future__ import annotations

import base64
import binascii

import structlog
from fastapi import Request

from broker import errors
from broker.context import OrgId, RequestContext
from broker.service import Broker
from broker.tenants import Login

log = structlog.get_logger("streamhouse.auth")


def peer_of(request: Request) -> str:
    client = request.client
    return f"{client.host}:{client.port}" if client is not None else ""


async def login_of(broker: Broker, request: Request) -> Login | None:
    """The request's login; None when logins are off. Raises AuthenticationFailed."""
    tenants = broker.tenants
    if not tenants.enabled:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    try:
        if scheme.lower() == "bearer" and value:
            return await tenants.login_with_token(value.strip())
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise errors.AuthenticationFailed("malformed Basic credentials") from None
            key_id, sep, secret = decoded.partition(":")
            if not sep:
                raise errors.AuthenticationFailed("Basic credentials are key id:secret")
            return await tenants.login_with_secret(key_id, secret)
    except errors.AuthenticationFailed as exc:
        log.warning("http_authentication_failed", peer=peer_of(request), path=request.url.path,
                    reason=exc.message)
        raise
    raise errors.AuthenticationFailed(
        "this agent requires credentials: Authorization: Bearer <key id>:<secret>, or Basic")


# The platform admin acts inside one organization by naming it (the console's switcher);
# anyone else's requests stay in their own organization, and the header is refused.
ORG_HEADER = "x-streamhouse-organization"


async def context_of(broker: Broker, request: Request) -> RequestContext:
    login = await login_of(broker, request)
    client_id = request.headers.get("user-agent", "")
    if login is None:
        return RequestContext.anonymous("rest", client_id=client_id, peer=peer_of(request))
    org_id = login.org_id
    chosen = request.headers.get(ORG_HEADER)
    if chosen and chosen != org_id:
        ctx = RequestContext(principal=login.principal, org_id=org_id, door="rest",
                             client_id=client_id, peer=peer_of(request))
        if login.principal.kind != "platform_admin":
            log.warning("http_organization_refused", peer=peer_of(request),
                        path=request.url.path, principal=login.principal.name)
            raise errors.NotAuthorized(
                f"{ORG_HEADER} is the platform admin's: a key acts in its own organization")
        org_id = OrgId((await broker.tenants.get_org(ctx, chosen)).id)  # 404 for an unknown one
    await broker.acls.ready(org_id)
    return RequestContext(principal=login.principal, org_id=org_id, door="rest",
                          client_id=client_id, peer=peer_of(request))
