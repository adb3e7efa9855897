"""Identity routes: parse, call :mod:`storybang.identity.service`, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import BackgroundTasks, Query, Response, status

from storybang.api import problems
from storybang.api.deps import AdminUser, ClientAddress, CurrentAccount, CurrentUser, RuntimeDep, SessionDep
from storybang.api.routing import APIRouter
from storybang.identity import administration, service
from storybang.identity.models import (
    AccountDeletion,
    AdminUserUpdate,
    ForgotPassword,
    Login,
    RefreshRequest,
    Register,
    ResetPassword,
    TokenPair,
    UserPage,
    UserPublic,
    UserUpdate,
    Verify,
)
from storybang.mail import Message
from storybang.runtime import Runtime

auth = APIRouter(prefix="/api/v1/auth", tags=["auth"])
users = APIRouter(prefix="/api/v1/users", tags=["users"])
admin = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=problems.responses(403))
well_known = APIRouter(tags=["auth"])
routers = [auth, users, admin, well_known]


def _send_later(tasks: BackgroundTasks, runtime: Runtime, message: Message | None) -> None:
    if message is not None:
        tasks.add_task(runtime.sender.send, message)


@auth.post("/register", status_code=status.HTTP_201_CREATED, responses=problems.responses(429))
async def register(
    data: Register, runtime: RuntimeDep, session: SessionDep, address: ClientAddress, tasks: BackgroundTasks
) -> dict[str, Any]:
    """Create an account. A verification code is mailed; it is never part of the answer."""
    answer, message = await service.register(runtime, session, data, address)
    _send_later(tasks, runtime, message)
    return answer


@auth.post("/verify", status_code=status.HTTP_204_NO_CONTENT, responses=problems.responses(400, 429))
async def verify(data: Verify, runtime: RuntimeDep, session: SessionDep, address: ClientAddress) -> None:
    await service.verify(runtime, session, data, address)


@auth.post("/verify/resend", status_code=status.HTTP_202_ACCEPTED, responses=problems.responses(429))
async def resend_verification(
    data: ForgotPassword, runtime: RuntimeDep, session: SessionDep, address: ClientAddress, tasks: BackgroundTasks
) -> dict[str, str]:
    _send_later(tasks, runtime, await service.resend_verification(runtime, session, data.email, address))
    return {"status": "accepted"}


def _no_store(response: Response) -> None:
    # Tokens must never sit in a cache between the client and us (RFC 6749 section 5.1).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


@auth.post("/login", responses=problems.responses(401, 403, 429))
async def login(
    data: Login, runtime: RuntimeDep, session: SessionDep, address: ClientAddress, response: Response
) -> TokenPair:
    _no_store(response)
    return await service.login(runtime, session, data, address)


@auth.post("/refresh", responses=problems.responses(401))
async def refresh(data: RefreshRequest, runtime: RuntimeDep, session: SessionDep, response: Response) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token stops working."""
    _no_store(response)
    return await service.refresh(runtime, session, data.refresh_token)


@auth.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(data: RefreshRequest, runtime: RuntimeDep, session: SessionDep) -> None:
    """End this device's session; the access tokens of every device stop working (they refresh)."""
    await service.logout(runtime, session, data.refresh_token)


@auth.post("/logout/all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_everywhere(user: CurrentUser, runtime: RuntimeDep, session: SessionDep) -> None:
    """End every session of the account (a lost phone): every device has to log in again."""
    await service.logout_everywhere(runtime, session, user.id)


@auth.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED, responses=problems.responses(429))
async def forgot_password(
    data: ForgotPassword, runtime: RuntimeDep, session: SessionDep, address: ClientAddress, tasks: BackgroundTasks
) -> dict[str, str]:
    """Always 202: whether the address has an account is not for the caller to learn."""
    _send_later(tasks, runtime, await service.forgot_password(runtime, session, data.email, address))
    return {"status": "accepted"}


@auth.post("/password/reset", status_code=status.HTTP_204_NO_CONTENT, responses=problems.responses(400, 429))
async def reset_password(data: ResetPassword, runtime: RuntimeDep, session: SessionDep) -> None:
    """Set a new password with the token from the reset link; every session is logged out."""
    await service.reset_password(runtime, session, data)


@well_known.get("/.well-known/jwks.json")
async def jwks(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return runtime.keys.jwks()


@users.get("/me")
async def read_me(user: CurrentAccount) -> UserPublic:
    return UserPublic.model_validate(user)


@users.patch("/me")
async def update_me(data: UserUpdate, user: CurrentAccount, runtime: RuntimeDep, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(await service.update_me(runtime, session, user, data))


@users.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=problems.responses(429))
async def delete_me(data: AccountDeletion, user: CurrentAccount, runtime: RuntimeDep, session: SessionDep) -> None:
    """Delete the account with its characters, stories, images and jobs; the body repeats the password."""
    await service.delete_account(runtime, session, user, data.password)


@admin.get("/users")
async def list_users(
    _: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> UserPage:
    return await administration.list_users(session, limit, cursor, q)


@admin.patch("/users/{user_id}")
async def update_user(
    user_id: str, data: AdminUserUpdate, admin_user: AdminUser, runtime: RuntimeDep, session: SessionDep
) -> UserPublic:
    """Disable or enable an account, or change its role. A disabled user's tokens stop working."""
    return UserPublic.model_validate(await administration.admin_update(runtime, session, admin_user, user_id, data))
