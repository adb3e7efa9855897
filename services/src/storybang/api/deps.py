"""Dependencies shared by every route, as ``Annotated`` aliases (``CurrentUser``, ``SessionDep``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from storybang.errors import Forbidden, Unauthorized
from storybang.identity.models import User
from storybang.runtime import Runtime
from storybang.security import tokens


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login")


async def get_current_user(
    runtime: RuntimeDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user behind a valid access token who still exists and is not disabled.

    The row is read on every request so that disabling or deleting an account, a logout or a
    password change take effect at once, not when the access tokens expire.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("An access token is required.")
    try:
        claims = runtime.keys.verify(credentials.credentials)
    except tokens.InvalidToken as e:
        raise Unauthorized("The access token is invalid or expired.") from e
    user = await session.get(User, claims.user_id)
    if user is None or user.disabled:
        raise Unauthorized("The access token is invalid or expired.")
    if claims.session_version < user.session_version:
        raise Unauthorized("The session has ended: refresh the token or log in again.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("This needs an administrator.")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
