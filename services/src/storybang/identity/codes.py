"""One-time codes: a six-digit code that verifies an email address, a long token that resets a password.

Only a SHA-256 digest of each is stored; a new code replaces the user's earlier one of the same
purpose, and a code is consumed at most once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storybang.identity.models import OneTimeCode, User
from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stores.sql import utcnow

VERIFY, RESET = "verify", "reset"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def new_code(runtime: Runtime, session: AsyncSession, user: User, purpose: str) -> str:
    if purpose == VERIFY:
        secret, ttl = f"{secrets.randbelow(1_000_000):06d}", runtime.settings.auth.verification_code_ttl_seconds
    else:
        secret, ttl = secrets.token_urlsafe(32), runtime.settings.auth.reset_token_ttl_seconds
    now = utcnow()
    # A new code replaces any earlier one of the same purpose.
    await session.execute(
        sa.update(OneTimeCode)
        .where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None))
        .values(used_at=now)
    )
    session.add(
        OneTimeCode(
            id=ids.new_id(),
            user_id=user.id,
            purpose=purpose,
            code_hash=digest(secret),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return secret


async def use_code(session: AsyncSession, user: User | None, purpose: str, secret: str) -> OneTimeCode | None:
    """Consume a valid code exactly once (a conditional UPDATE, so two racing uses cannot both win)."""
    query = sa.update(OneTimeCode).where(
        OneTimeCode.purpose == purpose,
        OneTimeCode.code_hash == digest(secret),
        OneTimeCode.used_at.is_(None),
        OneTimeCode.expires_at > utcnow(),
    )
    if user is not None:
        query = query.where(OneTimeCode.user_id == user.id)
    result = await session.execute(query.values(used_at=utcnow()))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = await session.execute(
        sa.select(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.code_hash == digest(secret))
    )
    return row.scalars().first()
