"""What administrators do to accounts: list and search them, disable or promote one, and create the
first administrator (`storybang create-admin`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storybang import logs
from storybang.errors import InvalidInput, NotFound
from storybang.identity import service, sessions
from storybang.identity.models import AdminUserUpdate, User, UserPage, UserPublic
from storybang.runtime import Runtime
from storybang.security import passwords
from storybang.stores import ids
from storybang.stores.sql import utcnow

log = logs.get(__name__)


async def list_users(session: AsyncSession, limit: int, cursor: str | None, q: str | None) -> UserPage:
    query = sa.select(User).order_by(User.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(User.id < cursor)
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(User.email.like(like, escape="\\"), sa.func.lower(User.display_name).like(like, escape="\\"))
        )
    rows = list((await session.execute(query)).scalars())
    items = rows[:limit]
    return UserPage(
        items=[UserPublic.model_validate(u) for u in items],
        next_cursor=items[-1].id if len(rows) > limit and items else None,
    )


async def admin_update(
    runtime: Runtime, session: AsyncSession, admin: User, user_id: str, data: AdminUserUpdate
) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == admin.id and (data.disabled or data.role == "user"):
        raise InvalidInput(
            "Administrators cannot disable or demote themselves.", field="role" if data.role else "disabled"
        )
    if data.role is not None:
        user.role = data.role
    if data.disabled is not None:
        user.disabled = data.disabled
        if data.disabled:
            await service.revoke_all(session, user.id)
    user.updated_at = utcnow()
    await session.commit()
    runtime.access.forget(user.id)  # a new role or an enabled account counts at once here
    log.info("user changed by an administrator", user_id=user.id, admin_id=admin.id)
    if data.disabled:
        await sessions.end(runtime, session, user.id, "account_disabled")
    return user


async def create_admin(runtime: Runtime, session: AsyncSession, email: str, password: str, display_name: str) -> User:
    """Make (or promote) an administrator: for `storybang create-admin`."""
    passwords.check_policy(password)
    user = await service.find_by_email(session, email)
    now = utcnow()
    if user is None:
        user = User(
            id=ids.new_id(),
            email=service.normalise(email),
            display_name=display_name,
            role="admin",
            verified=True,
            disabled=False,
            created_at=now,
            updated_at=now,
            password_hash=await runtime.hasher.hash(password),
        )
        session.add(user)
    else:
        user.role, user.verified, user.disabled, user.updated_at = "admin", True, False, now
        user.password_hash = await runtime.hasher.hash(password)
    await session.commit()
    return user
