"""Ending a user's sessions everywhere: the access tokens issued so far stop working at once.

Access tokens are verified without a lookup and live for minutes, so each carries its user's
session version (claim ``sv``). Ending the sessions (a logout, a password change or reset, a reused
refresh token, an account disabled or deleted) increments the version: in the user row, which every
API process reads at most a few seconds before a request (the one that ended them, at once:
:mod:`storybang.security.access`), and in the revocation store, which the notifier reads on every
connection. A ``session.ended`` event then closes the user's open sockets, and tells the user's
clients to refresh (other devices keep their refresh tokens) or log in again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storybang import logs
from storybang.events import SESSION_ENDED
from storybang.identity.models import User
from storybang.runtime import Runtime

log = logs.get(__name__)


async def end(runtime: Runtime, session: AsyncSession, user_id: str, reason: str) -> None:
    """Refuse every access token of ``user_id`` issued until now; commits ``session``."""
    # An update, then a read in the same transaction: MariaDB has no UPDATE ... RETURNING.
    await session.execute(sa.update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    version = (await session.execute(sa.select(User.session_version).where(User.id == user_id))).scalar_one_or_none()
    await session.commit()
    runtime.access.forget(user_id)  # this process refuses the old tokens at once, others within seconds
    if version is None:  # a deleted account: no row, and no token of it may pass
        version = 2**31
    await runtime.revocations.revoke(user_id, version)
    await runtime.events.publish(user_id, SESSION_ENDED, {"id": user_id, "reason": reason})
    log.info("sessions ended", user_id=user_id, reason=reason)
