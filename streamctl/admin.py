"""Schemas (the Confluent registry API), organizations, API keys, quotas and ACLs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import errors
from .errors import CliError
from .paths import seg

if TYPE_CHECKING:
    from .api import Api
    from .main import State

schema_app = typer.Typer(no_args_is_help=True, help="The schema registry: subjects, versions, compatibility.")
org_app = typer.Typer(no_args_is_help=True, help="Organizations (the platform admin's).")
key_app = typer.Typer(no_args_is_help=True, help="API keys of the organization.")
quota_app = typer.Typer(no_args_is_help=True, help="The organization's quotas.")
acl_app = typer.Typer(no_args_is_help=True, help="ACLs of the organization.")

CT = "application/vnd.schemaregistry.v1+json"


def _state() -> State:
    from .main import state

    return state


def _out(output: str | None) -> str:
    from .main import _fmt

    return _fmt(output)


Output = Annotated[str | None, typer.Option("--output", "-o", help="table, json or yaml")]


def _registry() -> Api:
    """The registry at the profile's registry URL, errors as CliError."""
    from dataclasses import replace

    from .api import Api

    profile = _state().resolve()
    return Api(replace(profile, rest=profile.registry))


def _schema_body(file: str, schema_type: str) -> dict[str, Any]:
    text = Path(file).read_text() if file != "-" else typer.get_text_stream("stdin").read()
    kind = schema_type.upper()
    if kind not in ("AVRO", "JSON", "PROTOBUF"):
        raise CliError(f"--type is AVRO, JSON or PROTOBUF, not {schema_type!r}", errors.USAGE)
    return {"schema": text, **({"schemaType": kind} if kind != "AVRO" else {})}


@schema_app.command("list")
def schema_list(output: Output = None) -> None:
    """Every subject and its latest version."""
    from .output import emit

    reg = _registry()
    rows = []
    for subject in reg.get("/subjects"):
        latest = reg.get(f"/subjects/{seg(subject)}/versions/latest")
        rows.append({"subject": subject, "version": latest["version"], "id": latest["id"],
                     "type": latest.get("schemaType", "AVRO")})
    emit(rows, _out(output), columns=[("subject", "Subject"), ("version", "Latest"),
                                      ("id", "Id"), ("type", "Type")])


@schema_app.command("register")
def schema_register(
    subject: str,
    file: Annotated[str, typer.Option("--file", "-f", help="the schema file (- for stdin)")],
    schema_type: Annotated[str, typer.Option("--type", "-t", help="AVRO, JSON or PROTOBUF")] = "AVRO",
    output: Output = None,
) -> None:
    """Register a schema under a subject. Example: streamctl schema register orders-value -f order.avsc"""
    from .output import emit

    reg = _registry()
    r = reg.call("POST", f"/subjects/{seg(subject)}/versions", json=_schema_body(file, schema_type),
                 headers={"content-type": CT})
    version = reg.get(f"/subjects/{seg(subject)}/versions/latest")["version"]
    emit({"subject": subject, "id": r["id"], "version": version}, _out(output),
         text=f"Registered as ID {r['id']} (version {version} of {subject})")


@schema_app.command("get")
def schema_get(
    subject: str,
    version: Annotated[str, typer.Option("--version", "-v", help="a version or latest")] = "latest",
    output: Output = None,
) -> None:
    """A version's schema text."""
    from .output import emit

    v = _registry().get(f"/subjects/{seg(subject)}/versions/{seg(version)}")
    text = v["schema"]
    if v.get("schemaType", "AVRO") != "PROTOBUF":
        text = json.dumps(json.loads(text), indent=2)
    emit(v, _out(output), text=f"# {subject} version {v['version']}, id {v['id']},"
         f" {v.get('schemaType', 'AVRO')}\n{text}")


@schema_app.command("check")
def schema_check(
    subject: str,
    file: Annotated[str, typer.Option("--file", "-f", help="the candidate schema (- for stdin)")],
    schema_type: Annotated[str, typer.Option("--type", "-t", help="AVRO, JSON or PROTOBUF")] = "AVRO",
    output: Output = None,
) -> None:
    """Is a candidate compatible with the latest version? Exit 5 if it is not."""
    from .output import emit

    reg = _registry()
    level = reg.get(f"/config/{seg(subject)}", defaultToGlobal="true")["compatibilityLevel"]
    r = reg.call("POST", f"/compatibility/subjects/{seg(subject)}/versions/latest",
                 json=_schema_body(file, schema_type), params={"verbose": "true"},
                 headers={"content-type": CT})
    ok = r["is_compatible"]
    text = f"✓ Compatible ({level})" if ok else f"✗ Not compatible ({level}): " + "; ".join(
        r.get("messages") or [])
    emit({**r, "compatibility": level}, _out(output), text=text)
    if not ok:
        raise typer.Exit(errors.CONFLICT)


@schema_app.command("delete")
def schema_delete(
    subject: str,
    version: Annotated[str | None, typer.Option("--version", "-v", help="one version (default: the subject)")] = None,
    permanent: Annotated[bool, typer.Option("--permanent", help="a hard delete (after a soft one)")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
) -> None:
    """Soft-delete a subject or version; --permanent removes it for good."""
    what = f"{subject} version {version}" if version else subject
    if not yes and not typer.confirm(f"Delete {what}{' permanently' if permanent else ''}?"):
        raise CliError("nothing deleted", errors.FAILED)
    reg = _registry()
    path = f"/subjects/{seg(subject)}" + (f"/versions/{seg(version)}" if version else "")
    if permanent:
        try:
            reg.delete(path)  # Confluent's rule: soft first, then hard
        except CliError:
            pass
    r = reg.delete(path, permanent="true" if permanent else None)
    typer.echo(f"Deleted {what}: " + (", ".join(map(str, r)) if isinstance(r, list) else str(r)))


@schema_app.command("config")
def schema_config(
    subject: Annotated[str | None, typer.Argument(help="a subject (default: the global level)")] = None,
    level: Annotated[str | None, typer.Option("--set", help="BACKWARD, FORWARD, FULL, NONE (and _TRANSITIVE)")] = None,
) -> None:
    """Show or set the compatibility level, of a subject or global."""
    reg = _registry()
    path = f"/config/{seg(subject)}" if subject else "/config"
    if level:
        reg.call("PUT", path, json={"compatibility": level.upper()}, headers={"content-type": CT})
    got = reg.get(path, **({"defaultToGlobal": "true"} if subject else {}))
    typer.echo(f"{subject or 'global'}: {got['compatibilityLevel']}")


# -- organizations, keys, quotas, ACLs ---------------------------------------------------


def _org_id(given: str | None) -> str:
    if given:
        return given
    return str(_state().api().get("/api/v1/whoami")["org_id"])


@org_app.command("list")
def org_list(output: Output = None) -> None:
    """Every organization (the platform admin's), or one's own."""
    from .output import emit

    rows = _state().api().get("/api/v1/organizations")
    emit(rows, _out(output), columns=[("id", "Id"), ("slug", "Slug"), ("name", "Name"),
                                      ("plan", "Plan"), ("status", "Status")])


@org_app.command("create")
def org_create(slug: str, name: str = "", plan: str = "free", output: Output = None) -> None:
    """Create an organization. Example: streamctl org create acme --plan pro"""
    from .output import emit

    o = _state().api().post("/api/v1/organizations", {"slug": slug, "name": name or slug,
                                                      "plan": plan})
    emit(o, _out(output), text=f"Created organization {o['slug']} (id {o['id']})")


@org_app.command("describe")
def org_describe(org: Annotated[str | None, typer.Argument(help="an id (default: one's own)")] = None,
                 output: Output = None) -> None:
    """An organization with its usage."""
    from .output import emit, size

    api = _state().api()
    org_id = _org_id(org)
    o = api.get(f"/api/v1/organizations/{seg(org_id)}")
    u = api.get(f"/api/v1/organizations/{seg(org_id)}/usage")
    emit({**o, "usage": u}, _out(output), text=(
        f"{o['slug']} ({o['name']}), plan {o['plan']}, {o['status']}\n"
        f"topics {u['topics']}, partitions {u['partitions']}, records {u['records']:,},"
        f" storage {size(u['storage_bytes'])}"))


@org_app.command("suspend")
def org_suspend(org: str, resume: Annotated[bool, typer.Option("--resume", help="make it active again")] = False) -> None:
    """Suspend an organization (its logins end), or --resume it."""
    o = _state().api().patch(f"/api/v1/organizations/{seg(org)}",
                             {"status": "active" if resume else "suspended"})
    typer.echo(f"{o['slug']} is {o['status']}")


@key_app.command("create")
def key_create(
    scope: Annotated[str, typer.Option(help="admin, read-write or read-only")] = "read-write",
    description: str = "",
    org: Annotated[str | None, typer.Option(help="an organization id (default: one's own)")] = None,
    output: Output = None,
) -> None:
    """Create an API key: its secret is shown this once."""
    from .output import emit

    k = _state().api().post(f"/api/v1/organizations/{seg(_org_id(org))}/api-keys",
                            {"scope": scope, "description": description})
    emit(k, _out(output), text=f"{k['id']}:{k['secret']}\n(the secret is shown only now; scope {k['scope']})")


@key_app.command("list")
def key_list(org: Annotated[str | None, typer.Option(help="an organization id")] = None,
             output: Output = None) -> None:
    """The organization's API keys (never their secrets)."""
    from .output import emit

    rows = _state().api().get(f"/api/v1/organizations/{seg(_org_id(org))}/api-keys")
    emit(rows, _out(output), columns=[("id", "Key"), ("scope", "Scope"), ("description", "Description"),
                                      ("revoked", "Revoked", lambda v: "yes" if v else "")])


@key_app.command("revoke")
def key_revoke(key: str, org: Annotated[str | None, typer.Option(help="an organization id")] = None) -> None:
    """Revoke a key: its live connections end."""
    _state().api().delete(f"/api/v1/organizations/{seg(_org_id(org))}/api-keys/{seg(key)}")
    typer.echo(f"Revoked {key}")


@quota_app.command("get")
def quota_get(org: Annotated[str | None, typer.Option(help="an organization id")] = None,
              output: Output = None) -> None:
    """The organization's quotas (and per client id)."""
    from .output import emit

    q = _state().api().get(f"/api/v1/organizations/{seg(_org_id(org))}/quotas")
    rows = [{"client_id": c or "(organization)", "name": n, "value": v}
            for c, named in q["quotas"].items() for n, v in named.items()]
    emit(rows if _out(output) == "table" else q, _out(output),
         columns=[("client_id", "Client"), ("name", "Quota"), ("value", "Value")])


@quota_app.command("set")
def quota_set(
    name: str,
    value: Annotated[str, typer.Argument(help="a number, or 'none' to remove it")],
    client_id: Annotated[str | None, typer.Option(help="for one client id")] = None,
    org: Annotated[str | None, typer.Option(help="an organization id")] = None,
) -> None:
    """Set a quota: topics, partitions, storage_bytes, connections, producer_byte_rate,
    consumer_byte_rate, request_rate."""
    number: float | None = None if value == "none" else float(value)
    _state().api().put(f"/api/v1/organizations/{seg(_org_id(org))}/quotas",
                       {"client_id": client_id or "", "name": name, "value": number})
    typer.echo(f"{name} = {value}" + (f" for {client_id}" if client_id else ""))


_ACL_FIELDS = ("resource_type", "resource_name", "pattern_type", "principal", "host",
               "operation", "permission")


@acl_app.command("list")
def acl_list(
    principal: str | None = None, resource_type: str | None = None,
    resource_name: str | None = None, output: Output = None,
) -> None:
    """The ACLs, or those a filter matches."""
    from .output import emit

    rows = _state().api().get("/api/v1/acls", principal=principal, resource_type=resource_type,
                              resource_name=resource_name)
    emit(rows, _out(output), columns=[("principal", "Principal"), ("permission", "Permission"),
                                      ("operation", "Operation"), ("resource_type", "Type"),
                                      ("resource_name", "Resource"), ("pattern_type", "Pattern"),
                                      ("host", "Host")])


@acl_app.command("create")
def acl_create(
    principal: Annotated[str, typer.Option(help="User:<key id or user>, or User:*")],
    operation: Annotated[str, typer.Option(help="READ, WRITE, DESCRIBE, ALL, ...")],
    topic: Annotated[str | None, typer.Option(help="a topic (or a prefix with --prefixed)")] = None,
    group: Annotated[str | None, typer.Option(help="a consumer group")] = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="the cluster")] = False,
    prefixed: Annotated[bool, typer.Option("--prefixed", help="the name is a prefix")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="DENY (default ALLOW)")] = False,
    host: str = "*",
) -> None:
    """Add an ACL. Example: streamctl acl create --principal User:KEY --operation READ --topic orders"""
    given = [x for x in (topic and ("TOPIC", topic), group and ("GROUP", group),
                         cluster and ("CLUSTER", "kafka-cluster")) if x]
    if len(given) != 1:
        raise CliError("name one resource: --topic, --group or --cluster", errors.USAGE)
    rtype, rname = given[0]
    acl = {"resource_type": rtype, "resource_name": rname,
           "pattern_type": "PREFIXED" if prefixed else "LITERAL", "principal": principal,
           "host": host, "operation": operation.upper(), "permission": "DENY" if deny else "ALLOW"}
    _state().api().post("/api/v1/acls", [acl])
    typer.echo(f"{acl['permission']} {principal} {acl['operation']} on {rtype} {rname}"
               + (" (prefix)" if prefixed else ""))


@acl_app.command("delete")
def acl_delete(
    principal: str | None = None, operation: str | None = None,
    resource_type: str | None = None, resource_name: str | None = None,
) -> None:
    """Remove the ACLs a filter matches."""
    gone = _state().api().delete("/api/v1/acls", principal=principal, operation=operation,
                                 resource_type=resource_type, resource_name=resource_name)
    typer.echo(f"Removed {len(gone)} ACL(s)")
