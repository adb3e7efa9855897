"""Dependencies shared by every route, as ``Annotated`` aliases (``CurrentUser``, ``SessionDep``).

``CurrentUser`` is the checked caller (its id and role), what the domains' routes need;
``CurrentAccount`` is the caller's user row itself, for identity's routes that show or change it.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from storybang.errors import Forbidden, Unauthorized
from storybang.identity.models import User
from storybang.runtime import Runtime
from storybang.security import access, tokens


def runtime_of(request: Request) -> Runtime:
    """The process's runtime. The hottest reads take the request and call this rather than declare
    ``RuntimeDep``: every dependency FastAPI resolves adds about ten microseconds to a request
    that costs under two hundred in all (bench/api.py)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    # async: a plain function would be run on a worker thread, a hop that costs more than the call.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_BEARER = "An access token from POST /api/v1/auth/login"
_bearer = HTTPBearer(auto_error=False, description=_BEARER)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

# The part of the user row every request checks, built once (SQLAlchemy caches its compiled form).
_STANDING = sa.select(User.role, User.disabled, User.session_version).where(User.id == sa.bindparam("user_id"))


def _bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, as FastAPI's HTTPBearer reads it."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if token and scheme.lower() == "bearer" else None


def _claims(runtime: Runtime, token: str | None) -> tokens.AccessClaims:
    if token is None:
        raise Unauthorized("An access token is required.")
    try:
        return runtime.access.verify(token)
    except tokens.InvalidToken as e:
        raise Unauthorized("The access token is invalid or expired.") from e


def _check(claims: tokens.AccessClaims, standing: access.Standing | None) -> access.Standing:
    try:
        return access.check(claims, standing)
    except access.SessionEnded as e:
        raise Unauthorized("The session has ended: refresh the token or log in again.") from e
    except tokens.InvalidToken as e:
        raise Unauthorized("The access token is invalid or expired.") from e


async def principal(runtime: Runtime, token: str | None) -> access.Principal:
    """The caller behind a valid access token, whose account exists, is enabled, and whose session
    has not ended, as of at most a few seconds ago (:mod:`storybang.security.access`)."""
    claims = _claims(runtime, token)
    known, standing = runtime.access.standing(claims.user_id)
    if not known:
        standing = await runtime.access.refresh(claims.user_id, functools.partial(_standing, runtime, claims.user_id))
    return access.Principal(claims.user_id, _check(claims, standing).role)


async def _standing(runtime: Runtime, user_id: str) -> access.Standing | None:
    row = await runtime.reads.first(_STANDING, {"user_id": user_id})
    return None if row is None else access.Standing(row.role, bool(row.disabled), row.session_version)


class _Caller(HTTPBearer):
    """The bearer scheme of the OpenAPI document and the check of the caller, as one dependency:
    FastAPI spends more per request on each dependency it resolves than the check itself costs.
    The header is read here rather than by HTTPBearer, which builds a pydantic model of it first."""

    async def __call__(self, request: Request) -> access.Principal:  # type: ignore[override]
        return await principal(runtime_of(request), _bearer_token(request.headers.get("authorization")))


CurrentUser = Annotated[access.Principal, Depends(_Caller(auto_error=False, description=_BEARER))]


async def get_current_account(runtime: RuntimeDep, session: SessionDep, credentials: BearerDep) -> User:
    """The caller's whole user row, read now in the request's session, for the routes that show or
    change the account itself."""
    claims = _claims(runtime, None if credentials is None else credentials.credentials)
    user = await session.get(User, claims.user_id)
    standing = None if user is None else access.Standing(user.role, user.disabled, user.session_version)
    _check(claims, standing)
    if user is None:  # refused by _check already; this tells the type checker
        raise Unauthorized("The access token is invalid or expired.")
    return user


CurrentAccount = Annotated[User, Depends(get_current_account)]


async def get_admin(user: CurrentAccount) -> User:
    if user.role != "admin":
        raise Forbidden("This needs an administrator.")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


async def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
