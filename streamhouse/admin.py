"""`streamhouse admin ...`: the first organization and key from a shell on the host, with
no agent running and no credential yet (the catalogue is the trust boundary)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from broker import errors
from broker.context import RequestContext
from broker.runtime import open_tenants
from broker.tenants import PLATFORM_ADMIN, SCOPES
from broker.types import DEFAULT_ORG

from .logging import configure

_CTX = RequestContext(principal=PLATFORM_ADMIN, org_id=DEFAULT_ORG, door="internal")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = sub.add_parser("admin", help="manage organizations and API keys on the host",
                           allow_abbrev=False)
    admin.add_argument("--data-dir", default="./data", help="the agent's data directory")
    admin.add_argument("--catalogue", default=None, help="catalogue URL (default: the data"
                       " directory's SQLite file)")
    verbs = admin.add_subparsers(dest="verb", required=True)
    org = verbs.add_parser("create-org", help="create an organization", allow_abbrev=False)
    org.add_argument("slug")
    org.add_argument("--name", default=None)
    org.add_argument("--plan", default="free")
    verbs.add_parser("list-orgs", help="list organizations", allow_abbrev=False)
    key = verbs.add_parser("create-key", help="create an API key (its secret is shown once)",
                           allow_abbrev=False)
    key.add_argument("--org", required=True, help="organization slug or id")
    key.add_argument("--scope", choices=SCOPES, default="admin")
    key.add_argument("--description", default="")


def run(args: argparse.Namespace) -> int:
    configure("console", "warning")  # stdout carries the answer (JSON)
    url = args.catalogue or f"sqlite:///{(Path(args.data_dir) / 'catalogue.db').resolve()}"
    if url.startswith("sqlite:///"):
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    try:
        print(json.dumps(asyncio.run(_run(args, url)), indent=2))
    except errors.BrokerError as exc:
        print(f"streamhouse admin: {exc.message}", file=sys.stderr)
        return 2
    return 0


async def _run(args: argparse.Namespace, url: str) -> object:
    tenants, catalogue = await open_tenants(url)
    try:
        if args.verb == "create-org":
            o = await tenants.create_org(_CTX, args.slug, args.name, args.plan)
            return {"id": o.id, "slug": o.slug, "name": o.name, "plan": o.plan}
        if args.verb == "list-orgs":
            return [{"id": o.id, "slug": o.slug, "name": o.name, "plan": o.plan,
                     "status": o.status} for o in await tenants.list_orgs(_CTX)]
        found = [o for o in await tenants.list_orgs(_CTX) if args.org in (o.id, o.slug)]
        if not found:
            raise errors.UnknownOrganization(f"organization {args.org!r} does not exist")
        key, secret = await tenants.create_api_key(_CTX, found[0].id, args.scope,
                                                   args.description)
        return {"key": key.id, "secret": secret, "org_id": key.org_id, "scope": key.scope,
                "note": "the secret is shown once: keep it now"}
    finally:
        await catalogue.close()
