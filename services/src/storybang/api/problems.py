"""The errors of the services as RFC 9457 problem+json: the one place that maps them to HTTP.

Domain code raises :mod:`storybang.errors`; :func:`install` answers each with its status and
problem type. Unexpected exceptions are logged with their traceback and answered with a bare 500
problem: no stack trace ever reaches a user.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storybang import logs
from storybang.errors import InvalidInput, StoryBangError, Unavailable

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://storybang.io/problems/"

log = logs.get(__name__)


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
async def _on_store_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("a store is unavailable", path=request.url.path, error=type(exc).__name__)
    return problem(
        503,
        Unavailable.title,
        "A data store is unavailable; try again shortly.",
        slug=Unavailable.slug,
        headers={"Retry-After": "2"},
    )


class LastResort:
    """Answer an exception nothing else handled with a bare 500 problem, logged once with its
    traceback. (An ``Exception`` handler would log it, then Starlette re-raises it for the server,
    which logs it again.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            log.error("unhandled error", path=scope.get("path", ""), exc_info=exc)
            if started:
                return  # the answer is under way: all that is left is to end it, which the server does
            answer = problem(500, StoryBangError.title, "An unexpected error occurred.", slug=StoryBangError.slug)
            await answer(scope, receive, send)


def install(app: FastAPI, *, store_down: Iterable[type[Exception]] = ()) -> None:
    """Answer every error with a problem. ``store_down``: the drivers' exceptions that mean a store
    is unavailable (:data:`storybang.stores.errors.STORE_DOWN` for the domain APIs; the model
    server, which has no stores, gives none and so never imports a driver)."""
    app.add_exception_handler(StoryBangError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for kind in store_down:
        app.add_exception_handler(kind, _on_store_down)
    app.add_middleware(LastResort)
