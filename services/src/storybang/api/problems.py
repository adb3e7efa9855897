"""The errors of the services as RFC 9457 problem+json: the one place that maps them to HTTP.

Domain code raises :mod:`storybang.errors`; :func:`install` answers each with its status and
problem type. Unexpected exceptions are logged with their traceback and answered with a bare 500
problem: no stack trace ever reaches a user.

:func:`document` lists these answers in the OpenAPI document, so that a generated client knows
them: the ones an operation's shape implies (a credential can be 401, a path id 404, a body 400,
413 and 422, an ``If-Match`` 412) are found from the document itself; those that depend on what a
route does (403, 409, 429) it names with :func:`responses`, or its router does for all its routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
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


def _field(loc: tuple[Any, ...] | list[Any], body: Any = None) -> str:
    """The dotted name of the field at ``loc`` in ``body``. The "body"/"query"/"path" prefix FastAPI
    adds is dropped (users name fields, not transport parts), and so is the tag pydantic puts where
    a discriminated union chose its member (``input`` of ``{"task": "story", "input": ...}`` is at
    ``body.story.input``): a part that names no field of the body there, with more parts after it."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    named: list[str] = []
    at = body if loc and loc[0] == "body" else None
    for i, part in enumerate(parts):
        if isinstance(at, dict) and isinstance(part, str) and part not in at and i < len(parts) - 1:
            continue  # a union's tag
        named.append(str(part))
        at = _child(at, part)
    return ".".join(named)


def _child(value: Any, part: Any) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return None


async def _on_domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoryBangError)
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    return problem(exc.status, exc.title, exc.detail, slug=exc.slug, errors=errors, headers=exc.headers())


def _where(error: Mapping[str, Any], body: Any) -> str:
    if error.get("type") in {"union_tag_invalid", "union_tag_not_found"}:
        # The field that chooses the union's member (``task``) is missing or names none of them.
        tag = str(error.get("ctx", {}).get("discriminator", "")).strip("'")
        return ".".join(filter(None, [_field(error.get("loc", ()), body), tag]))
    return _field(error.get("loc", ()), body)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _where(e, exc.body), "message": str(e.get("msg", "invalid")), "type": e.get("type")}
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


# ----------------------------------------------------------------------------------- the OpenAPI document


class ProblemField(BaseModel):
    field: str  # dotted, as the request names it: "input.prompt", "If-Match"
    message: str
    type: str | None = None


class Problem(BaseModel):
    """An error answer (RFC 9457); ``errors`` lists the fields at fault, when there are any."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = None


_MEANING = {
    400: "The body is not valid JSON, or a code or token in it is not one we issued.",
    401: "No access token, or one that is invalid or expired: refresh it or log in again.",
    403: "The caller may not do this (an administrator's route, a disabled or unverified account).",
    404: "No such resource, or one of another user's (which reads the same).",
    409: "The resource kept changing while this was saved: read it again and retry.",
    412: "If-Match names a version that is no longer current; the answer's ETag is the current one.",
    413: "The body or an upload is larger than the limit.",
    415: "The body is of a type this route does not take.",
    422: "A field is invalid: ``errors`` names each one.",
    429: "Too many requests, or a quota used up: try again after Retry-After seconds.",
    503: "A store or the job queue is unavailable: try again after Retry-After seconds.",
}
_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem answers ``statuses`` for a route's ``responses=``: those that depend on what the
    route does rather than on its shape (which :func:`document` finds by itself)."""
    return {
        status: {"description": _MEANING[status], "content": {PROBLEM_JSON: {"schema": _SCHEMA}}} for status in statuses
    }


def document(app: FastAPI) -> None:
    """List every operation's problem answers in ``app``'s OpenAPI document."""
    build = app.openapi
    documented: list[dict[str, Any] | None] = [None]

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI builds it again when routes are added
        if schema is not documented[0]:
            _document(schema)
            documented[0] = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _statuses(path: str, operation: dict[str, Any]) -> set[int]:
    """The problems an operation's shape implies."""
    found: set[int] = set()
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        found.add(401)  # it reads a credential, which may be missing, invalid or expired
    if "{" in path:
        found.add(404)
    if "requestBody" in operation:
        found |= {400, 413, 422}
    if parameters:
        found.add(422)
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
        found.add(412)
    return found


def _document(schema: dict[str, Any]) -> None:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            answers = operation.setdefault("responses", {})
            # FastAPI's own 422 is a JSON body of its making; ours is a problem.
            answers.update({str(k): v for k, v in responses(*sorted(_statuses(path, operation))).items()})
            for status, answer in answers.items():
                if status[0] in "45" and "content" not in answer:  # a route's own, said in words only
                    answer["content"] = {PROBLEM_JSON: {"schema": _SCHEMA}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    # FastAPI's validation error schemas describe answers this API never gives.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
