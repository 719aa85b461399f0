"""Confluent Schema Registry's REST API (paths, payloads, error codes, content type).

Confluent's serializers, Kafka UI and Conduktor use it unchanged. Unknown query
parameters are ignored; booleans are accepted as true/false in any case.
"""

from __future__ import annotations

from typing import Any, cast

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from broker import errors
from broker.registry.scoped import ScopedRegistryStore, current_org
from broker.registry.service import (
    COMPATIBILITY_LEVELS,
    GLOBAL,
    MODES,
    Registry,
    RegistryError,
    RegistryStore,
    schema_not_found,
    schema_types,
)
from broker.service import Broker
from broker.types import DEFAULT_ORG
from streamhouse.api.auth import context_of

log = structlog.get_logger("streamhouse.registry")

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryJSON(JSONResponse):
    media_type = CONTENT_TYPE


def _flag(request: Request, name: str, default: bool = False) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.strip().lower() in ("true", "1", "yes")


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise RegistryError(422, 42201, "Invalid request: the body is not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(422, 42201, "Invalid request: the body must be a JSON object")
    return data


def create_registry_app(tables: RegistryStore, broker: Broker | None = None) -> FastAPI:
    app = FastAPI(title="StreamHouse Schema Registry", version="0.1.0",
                  description="Confluent Schema Registry compatible API", default_response_class=RegistryJSON)
    # Every call of the store is made for the caller's organization (set per request below).
    store = cast(RegistryStore, ScopedRegistryStore(tables))
    reg = Registry(store)

    @app.middleware("http")
    async def logins(request: Request, call_next: Any) -> Any:
        """With logins on, Bearer or Basic credentials (Confluent's basic.auth.user.info);
        subjects, versions, ids and settings are the caller's organization's."""
        if broker is None or not broker.tenants.enabled:
            current_org.set(DEFAULT_ORG)
            return await call_next(request)
        try:
            # The platform admin may act inside one organization (the console's switcher).
            ctx = await context_of(broker, request)
        except errors.AuthenticationFailed as exc:
            return RegistryJSON({"error_code": 40101, "message": exc.message}, status_code=401,
                                headers={"WWW-Authenticate": 'Basic realm="schema-registry"'})
        except errors.BrokerError as exc:  # an organization header refused, or unknown
            return RegistryJSON({"error_code": exc.http_status * 100 + 1, "message": exc.message},
                                status_code=exc.http_status)
        if ctx.principal.scope == "read-only" and request.method not in ("GET", "HEAD", "OPTIONS"):
            return RegistryJSON({"error_code": 40301, "message": "a read-only key may not change"
                                 " the registry"}, status_code=403)
        current_org.set(ctx.org_id)
        return await call_next(request)

    @app.exception_handler(RegistryError)
    async def registry_error(_req: Request, exc: RegistryError) -> RegistryJSON:
        return RegistryJSON({"error_code": exc.error_code, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def unexpected(req: Request, exc: Exception) -> RegistryJSON:
        log.error("registry_unhandled_error", path=req.url.path, error=repr(exc), exc_info=exc)
        return RegistryJSON({"error_code": 50001, "message": f"Error in the backend data store: {type(exc).__name__}"},
                            status_code=500)

    @app.exception_handler(404)
    async def unknown_path(_req: Request, _exc: Exception) -> RegistryJSON:
        return RegistryJSON({"error_code": 404, "message": "HTTP 404 Not Found"}, status_code=404)

    @app.exception_handler(405)
    async def bad_method(_req: Request, _exc: Exception) -> RegistryJSON:
        return RegistryJSON({"error_code": 405, "message": "HTTP 405 Method Not Allowed"}, status_code=405)

    async def version_body(subject: str, version: int, schema_id: int, stored: Any,
                           request: Request) -> dict[str, Any]:
        text = await reg.text_of(stored, request.query_params.get("format"))
        out: dict[str, Any] = {"subject": subject, "version": version, "id": schema_id,
                               "schema": text}
        if stored.schema_type != "AVRO":
            out["schemaType"] = stored.schema_type
        if stored.references:
            out["references"] = stored.references
        return out

    @app.get("/")
    async def root() -> dict[str, Any]:
        return {}

    @app.get("/schemas/types")
    async def types() -> list[str]:
        return sorted(schema_types())

    @app.get("/contexts")
    async def contexts() -> list[str]:
        return ["."]

    @app.get("/subjects")
    async def subjects(request: Request) -> list[str]:
        names = await store.subjects(include_deleted=_flag(request, "deleted"))
        prefix = request.query_params.get("subjectPrefix")
        return [n for n in names if not prefix or n.startswith(prefix)]

    @app.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request) -> dict[str, Any]:
        v = await reg.lookup(subject, await _body(request), include_deleted=_flag(request, "deleted"))
        stored = await store.get_schema(v.schema_id)
        return await version_body(subject, v.version, v.schema_id, stored, request)

    @app.delete("/subjects/{subject}")
    async def delete_subject(subject: str, request: Request) -> list[int]:
        permanent = _flag(request, "permanent")
        await reg.require_writable(subject)
        every = await store.versions(subject, include_deleted=True)
        if not every:
            raise RegistryError(404, 40401, f"Subject '{subject}' not found.")
        live = [v for v in every if not v.deleted]
        if permanent and live:
            raise RegistryError(404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted")
        if not permanent and not live:
            raise RegistryError(404, 40404, f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently")
        await store.delete_subject(subject, permanent=permanent)
        return [v.version for v in (every if permanent else live)]

    @app.get("/subjects/{subject}/versions")
    async def versions(subject: str, request: Request) -> list[int]:
        vs = await store.versions(subject, include_deleted=_flag(request, "deleted"))
        if not vs:
            raise RegistryError(404, 40401, f"Subject '{subject}' not found.")
        return [v.version for v in vs]

    @app.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> dict[str, Any]:
        return {"id": await reg.register(subject, await _body(request))}

    @app.get("/subjects/{subject}/versions/{version}")
    async def get_version(subject: str, version: str, request: Request) -> dict[str, Any]:
        v = await reg.version(subject, version, include_deleted=_flag(request, "deleted"))
        stored = await store.get_schema(v.schema_id)
        return await version_body(subject, v.version, v.schema_id, stored, request)

    @app.get("/subjects/{subject}/versions/{version}/schema")
    async def get_version_schema(subject: str, version: str, request: Request) -> Response:
        v = await reg.version(subject, version, include_deleted=_flag(request, "deleted"))
        stored = await store.get_schema(v.schema_id)
        assert stored is not None
        text = await reg.text_of(stored, request.query_params.get("format"))
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    @app.get("/subjects/{subject}/versions/{version}/referencedby")
    async def referenced_by(subject: str, version: str) -> list[int]:
        v = await reg.version(subject, version)
        return await store.referenced_by(subject, v.version)

    @app.delete("/subjects/{subject}/versions/{version}")
    async def delete_version(subject: str, version: str, request: Request) -> int:
        permanent = _flag(request, "permanent")
        await reg.require_writable(subject)
        v = await reg.version(subject, version, include_deleted=True)
        if not permanent and v.deleted:
            raise RegistryError(404, 40406, f"Subject '{subject}' Version {v.version} was soft deleted."
                                "Set permanent=true to delete permanently")
        if permanent and not v.deleted:
            raise RegistryError(404, 40407, f"Subject '{subject}' Version {v.version} was not deleted first before being permanently deleted")
        if await store.referenced_by(subject, v.version):
            raise RegistryError(422, 42206, f"One or more references exist to the schema {{subject={subject},version={v.version}}}")
        await store.delete_version(subject, v.version, permanent=permanent)
        return v.version

    @app.get("/schemas/ids/{schema_id}")
    async def schema_by_id(schema_id: int, request: Request) -> dict[str, Any]:
        stored = await store.get_schema(schema_id)
        if stored is None:
            raise schema_not_found()
        out: dict[str, Any] = {"schema": await reg.text_of(stored, request.query_params.get("format"))}
        if stored.schema_type != "AVRO":
            out["schemaType"] = stored.schema_type
        if stored.references:
            out["references"] = stored.references
        return out

    @app.get("/schemas/ids/{schema_id}/schema")
    async def raw_schema_by_id(schema_id: int, request: Request) -> Response:
        stored = await store.get_schema(schema_id)
        if stored is None:
            raise schema_not_found()
        text = await reg.text_of(stored, request.query_params.get("format"))
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    @app.get("/schemas/ids/{schema_id}/subjects")
    async def subjects_of_schema(schema_id: int, request: Request) -> list[str]:
        if await store.get_schema(schema_id) is None:
            raise schema_not_found()
        uses = await store.uses_of_schema(schema_id, include_deleted=_flag(request, "deleted"))
        return sorted({u.subject for u in uses})

    @app.get("/schemas/ids/{schema_id}/versions")
    async def versions_of_schema(schema_id: int, request: Request) -> list[dict[str, Any]]:
        if await store.get_schema(schema_id) is None:
            raise schema_not_found()
        uses = await store.uses_of_schema(schema_id, include_deleted=_flag(request, "deleted"))
        return [{"subject": u.subject, "version": u.version} for u in uses]

    async def _compat(subject: str, version: str | None, request: Request) -> dict[str, Any]:
        candidate = await reg.candidate(await _body(request))
        if version is None:
            against = await store.versions(subject)
            problems = await reg.incompatibilities(subject, candidate, against=against)
        else:
            try:
                v = await reg.version(subject, version)
            except RegistryError as exc:
                if exc.error_code == 40401 and version in ("latest", "-1"):
                    return {"is_compatible": True}  # nothing to be incompatible with
                raise
            level = await reg.compatibility(subject)
            problems = await reg.incompatibilities(subject, candidate, level=level.replace("_TRANSITIVE", ""),
                                                   against=[v])
        out: dict[str, Any] = {"is_compatible": not problems}
        if _flag(request, "verbose"):
            out["messages"] = problems
        return out

    @app.post("/compatibility/subjects/{subject}/versions")
    async def compatibility_all(subject: str, request: Request) -> dict[str, Any]:
        return await _compat(subject, None, request)

    @app.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility_one(subject: str, version: str, request: Request) -> dict[str, Any]:
        return await _compat(subject, version, request)

    # -- config and mode ----------------------------------------------------------------

    def settings_routes(path: str, kind: str, put_field: str, get_field: str,
                        allowed: tuple[str, ...], invalid_code: int, missing_code: int) -> None:
        """GET/PUT {path}, GET/PUT/DELETE {path}/{subject}: one shape for config and mode."""
        what = "compatibility level" if kind == "compatibility" else "mode"

        async def effective(subject: str | None) -> str:
            return await (reg.compatibility(subject) if kind == "compatibility" else reg.mode(subject))

        def missing(subject: str) -> RegistryError:
            return RegistryError(404, missing_code,
                                 f"Subject '{subject}' does not have subject-level {kind} configured")

        async def put(subject: str, request: Request) -> dict[str, Any]:
            body = await _body(request)
            value = str(body.get(put_field) or "").upper()
            if value not in allowed:
                raise RegistryError(422, invalid_code,
                                    f"Invalid {what} {body.get(put_field)!r}: use one of {list(allowed)}")
            if kind == "mode" and value == "IMPORT" and not _flag(request, "force"):
                # Confluent's rule: importing over existing schemas would mix two id spaces.
                existing = (await store.versions(subject, include_deleted=True) if subject != GLOBAL
                            else await store.subjects(include_deleted=True))
                if existing:
                    raise RegistryError(422, 42205, "Cannot import since found existing subjects;"
                                        " set force=true to change the mode anyway")
            await store.set_setting(subject, kind, value)
            return {put_field: value}

        @app.get(path, operation_id=f"get_global_{kind}")
        async def get_global() -> dict[str, Any]:
            return {get_field: await effective(None)}

        @app.put(path, operation_id=f"put_global_{kind}")
        async def put_global(request: Request) -> dict[str, Any]:
            return await put(GLOBAL, request)

        @app.get(path + "/{subject}", operation_id=f"get_subject_{kind}")
        async def get_subject(subject: str, request: Request) -> dict[str, Any]:
            value = await store.get_setting(subject, kind)
            if value is None:
                if not _flag(request, "defaultToGlobal"):
                    raise missing(subject)
                value = await effective(None)
            return {get_field: value}

        @app.put(path + "/{subject}", operation_id=f"put_subject_{kind}")
        async def put_subject(subject: str, request: Request) -> dict[str, Any]:
            return await put(subject, request)

        @app.delete(path + "/{subject}", operation_id=f"delete_subject_{kind}")
        async def delete_subject_setting(subject: str) -> dict[str, Any]:
            value = await store.get_setting(subject, kind)
            if value is None:
                raise missing(subject)
            await store.delete_setting(subject, kind)
            return {get_field: value}

    settings_routes("/config", "compatibility", "compatibility", "compatibilityLevel",
                    COMPATIBILITY_LEVELS, 42203, 40408)
    settings_routes("/mode", "mode", "mode", "mode", MODES, 42204, 40409)

    @app.get("/associations/{rest:path}")
    async def associations(rest: str) -> Response:
        # New serializers ask for associations first and fall back to <topic>-value on 404.
        raise RegistryError(404, 40401, "Associations are not supported; use subject names")

    return app
