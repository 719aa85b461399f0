"""One exception handler per app: domain errors to JSON `{"error": code, "message": text}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from broker.errors import BrokerError, QuotaExceeded, is_known, translate

log = structlog.get_logger("streamhouse.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, what)


def describe(errors: Sequence[Any]) -> str:
    """Validation errors as one line: `records.3.partition: Input should be ...; ...`."""
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        parts.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
    return "; ".join(parts)


def invalid_body(exc: ValidationError) -> ApiError:
    """A body that a route validated itself, refused like FastAPI refuses the others."""
    return ApiError(422, "invalid_request", describe(exc.errors(include_url=False)))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": "invalid_request", "message": describe(exc.errors())}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "message": str(exc.detail)}, status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def unexpected(req: Request, exc: Exception) -> JSONResponse:
        if is_known(exc):  # a lower layer's refusal the broker did not wrap (the catalogue down)
            return _broker_error(translate(exc))
        # A bug: still a JSON body a client can show, and the traceback in the log.
        log.error("rest_unhandled_error", path=req.url.path, error=repr(exc), exc_info=exc)
        return JSONResponse(
            {"error": "internal_error", "message": f"internal error: {type(exc).__name__}"},
            status_code=500,
        )

    @app.exception_handler(BrokerError)
    async def broker_error(_req: Request, exc: BrokerError) -> JSONResponse:
        return _broker_error(exc)


def _broker_error(exc: BrokerError) -> JSONResponse:
    headers = {"Retry-After": "1"} if exc.retriable and exc.http_status == 503 else None
    if isinstance(exc, QuotaExceeded):
        headers = {"Retry-After": str(max(1, -(-exc.retry_after_ms // 1000)))}
    if exc.http_status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="streamhouse", Basic realm="streamhouse"'}
    return JSONResponse({"error": exc.http_code, "message": exc.message},
                        status_code=exc.http_status, headers=headers)
