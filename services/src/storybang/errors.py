"""The error hierarchy of the services, and its mapping to RFC 9457 problem+json at the edge.

Domain code raises these; only :func:`install` knows about HTTP. Unexpected exceptions are logged
with their traceback and answered with a bare 500 problem: no stack trace ever reaches a user.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DisconnectionError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from storybang import logs

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://storybang.io/problems/"

log = logs.get(__name__)


class StoryBangError(Exception):
    status = 500
    slug = "internal"
    title = "Internal server error"

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(StoryBangError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(StoryBangError):
    status, slug, title = 401, "unauthorized", "Not authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(StoryBangError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(StoryBangError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(StoryBangError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(StoryBangError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(StoryBangError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class InvalidInput(StoryBangError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class TooManyRequests(StoryBangError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(StoryBangError):
    status, slug, title = 503, "unavailable", "Service unavailable"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # Drop the "body"/"query"/"path" prefix FastAPI adds: users name fields, not transport parts.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts)


async def _on_domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoryBangError)
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    return problem(exc.status, exc.title, exc.detail, slug=exc.slug, errors=errors, headers=exc.headers())


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(e.get("loc", ())), "message": str(e.get("msg", "invalid")), "type": e.get("type")}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(400, "Malformed JSON", "The request body is not valid JSON.", slug="malformed-json")
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    return problem(422, InvalidInput.title, detail, slug=InvalidInput.slug, errors=errors)


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=headers)


# A store that is down or restarting is the platform's trouble, not the request's: 503 and a
# short Retry-After, which clients and load balancers know how to handle.
STORE_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionFailure, DisconnectionError, OperationalError)


async def _on_store_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("a store is unavailable", path=request.url.path, error=type(exc).__name__)
    return problem(
        503,
        Unavailable.title,
        "A data store is unavailable; try again shortly.",
        slug=Unavailable.slug,
        headers={"Retry-After": "2"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return problem(500, StoryBangError.title, "An unexpected error occurred.", slug=StoryBangError.slug)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StoryBangError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for kind in STORE_DOWN:
        app.add_exception_handler(kind, _on_store_down)
    app.add_exception_handler(Exception, _on_unexpected)
