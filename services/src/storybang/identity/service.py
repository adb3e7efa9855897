"""Identity logic: plain async functions over a SQL session and the runtime's helpers.

One-time codes (verification codes, reset tokens) are :mod:`storybang.identity.codes`; what
administrators do to accounts is :mod:`storybang.identity.admin`.

Routes call these and do nothing else. Messages to send (codes, links) are returned to the caller,
which sends them after the response, so that the time an answer takes never depends on whether an
account exists.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storybang import logs
from storybang.errors import BadRequest, Forbidden, InvalidInput, Unauthorized
from storybang.identity import codes, rotation, sessions
from storybang.identity.models import (
    Login,
    RefreshToken,
    Register,
    ResetPassword,
    TokenPair,
    User,
    UserUpdate,
    Verify,
)
from storybang.mail import Message
from storybang.runtime import Runtime
from storybang.security import passwords
from storybang.stores import ids
from storybang.stores.documents import USER_COLLECTIONS
from storybang.stores.sql import is_deadlock, utcnow

log = logs.get(__name__)

_BAD_LOGIN = "Invalid email or password."
_BAD_CODE = "The code is invalid or has expired."


def _per_client(email: str, address: str) -> str:
    # Attempts on an account count per client address: someone else's failures must not lock the
    # owner out. Each address is bounded on its own by the per-address limits as well.
    return f"{email}|{address}"


def normalise(email: str) -> str:
    return email.strip().lower()


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(sa.select(User).where(User.email == normalise(email)))
    return result.scalar_one_or_none()


# --- registration and verification ------------------------------------------------------------


async def register(
    runtime: Runtime, session: AsyncSession, data: Register, address: str
) -> tuple[dict[str, object], Message]:
    """Create an account, or — for an email already registered — tell its owner by mail instead.

    Both cases get the same answer, so registration cannot be used to find out who has an account.
    """
    await runtime.limiter.hit(runtime.settings.limits.register_per_address, "register", address)
    passwords.check_policy(data.password)
    email = normalise(data.email)
    answer: dict[str, object] = {"email": email, "verification_required": runtime.settings.auth.require_verification}
    # Hashed whether or not the address is taken: argon2 is most of the work of a registration, and
    # skipping it for a taken address would tell by the answer's speed who has an account.
    password_hash = await runtime.hasher.hash(data.password)
    existing = await find_by_email(session, email)
    if existing is not None:
        return answer, Message(
            email,
            "Your StoryBang account",
            "Someone tried to register a StoryBang account with this address, which already has one. "
            "If it was you, log in, or reset your password.",
        )
    now = utcnow()
    user = User(
        id=ids.new_id(),
        email=email,
        password_hash=password_hash,
        display_name=data.display_name,
        role="user",
        verified=False,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    code = await codes.new_code(runtime, session, user, codes.VERIFY)
    try:
        await session.commit()
    except sa.exc.IntegrityError:  # registered concurrently: same answer as above
        await session.rollback()
        return answer, Message(email, "Your StoryBang account", "This address already has a StoryBang account.")
    log.info("user registered", user_id=user.id)
    return answer, Message(email, "Your StoryBang verification code", f"Your verification code is {code}.")


async def resend_verification(runtime: Runtime, session: AsyncSession, email: str, address: str) -> Message | None:
    await runtime.limiter.hit(runtime.settings.limits.codes_per_account, "code", _per_client(normalise(email), address))
    user = await find_by_email(session, email)
    if user is None or user.verified:
        return None
    code = await codes.new_code(runtime, session, user, codes.VERIFY)
    await session.commit()
    return Message(user.email, "Your StoryBang verification code", f"Your verification code is {code}.")


async def verify(runtime: Runtime, session: AsyncSession, data: Verify, address: str) -> None:
    email = normalise(data.email)
    await runtime.limiter.hit(runtime.settings.limits.codes_per_account, "code", _per_client(email, address))
    await runtime.limiter.hit(runtime.settings.limits.login_per_address, "code-address", address)
    user = await find_by_email(session, email)
    if user is None or await codes.use_code(session, user, codes.VERIFY, data.code.strip()) is None:
        await session.rollback()
        raise BadRequest(_BAD_CODE, field="code")
    user.verified = True
    user.updated_at = utcnow()
    await session.commit()


# --- tokens -----------------------------------------------------------------------------------


def _new_pair(runtime: Runtime, session: AsyncSession, user: User, family_id: str | None = None) -> TokenPair:
    """A new pair, its refresh token added to ``session`` (the caller commits)."""
    refresh = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            id=ids.new_id(),
            family_id=family_id or ids.new_id(),
            user_id=user.id,
            token_hash=codes.digest(refresh),
            created_at=now,
            expires_at=now + timedelta(seconds=runtime.settings.auth.refresh_token_ttl_seconds),
        )
    )
    access, ttl = runtime.keys.issue(user.id, user.role, user.session_version)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


async def _issue(runtime: Runtime, session: AsyncSession, user: User) -> TokenPair:
    pair = _new_pair(runtime, session, user)
    await session.commit()
    return pair


async def login(runtime: Runtime, session: AsyncSession, data: Login, address: str) -> TokenPair:
    email = normalise(data.email)
    await runtime.limiter.hit(runtime.settings.limits.login_per_address, "login-address", address)
    await runtime.limiter.hit(runtime.settings.limits.login_per_account, "login", _per_client(email, address))
    user = await find_by_email(session, email)
    # Always one argon2 verification, against a dummy hash for unknown emails: same time, same answer.
    ok = await runtime.hasher.verify(user.password_hash if user else None, data.password)
    if user is None or not ok:
        raise Unauthorized(_BAD_LOGIN)
    if user.disabled:
        raise Forbidden("This account is disabled.")
    if runtime.settings.auth.require_verification and not user.verified:
        raise Forbidden("Verify your email address before logging in.")
    if runtime.hasher.needs_rehash(user.password_hash):
        user.password_hash = await runtime.hasher.hash(data.password)
    log.info("user logged in", user_id=user.id)
    return await _issue(runtime, session, user)


async def _revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# Tries of a refresh that InnoDB picked as a deadlock's victim: racing refreshes of one family lock
# the same rows in different orders (the claim, the family's revocation, the user's session version).
REFRESH_TRIES = 3


async def refresh(runtime: Runtime, session: AsyncSession, token: str) -> TokenPair:
    """Rotate a refresh token. Presenting one that was already rotated revokes its whole family
    (RFC 9700 §4.14.2): either the client or a thief has a stale copy, and we cannot tell which.

    Except within the grace after its rotation: then the same new pair comes back, so that racing
    refreshes of one client all succeed (:mod:`storybang.identity.rotation`). The claim below and
    the sealed pair are committed together, so a racer that waited on the claimed row finds it.

    A deadlock between racing refreshes rolls one back with nothing written: it runs again, and
    then finds the token as the winner left it. Every step may run twice (the revocation only
    revokes what is not revoked yet).
    """
    for attempt in range(REFRESH_TRIES):
        try:
            return await _refresh(runtime, session, token)
        except sa.exc.OperationalError as e:
            if not is_deadlock(e) or attempt == REFRESH_TRIES - 1:
                raise
            await session.rollback()
    raise AssertionError("unreachable: the last try returns or raises")


async def _refresh(runtime: Runtime, session: AsyncSession, token: str) -> TokenPair:
    digest = codes.digest(token)
    now = utcnow()
    claimed = await session.execute(
        sa.update(RefreshToken)
        .where(
            RefreshToken.token_hash == digest,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
    )
    row = (await session.execute(sa.select(RefreshToken).where(RefreshToken.token_hash == digest))).scalar_one_or_none()
    if claimed.rowcount != 1 or row is None:  # type: ignore[attr-defined]
        if row is not None and (row.used_at is not None or row.revoked_at is not None):
            return await _presented_again(runtime, session, row, token, now)
        raise Unauthorized("The refresh token is invalid, expired or revoked.")
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        await session.rollback()
        raise Unauthorized("The refresh token is invalid, expired or revoked.")
    pair = _new_pair(runtime, session, user, family_id=row.family_id)
    row.successor = rotation.seal(token, row.id, pair)
    await session.commit()
    return pair


async def _presented_again(
    runtime: Runtime, session: AsyncSession, row: RefreshToken, token: str, now: datetime
) -> TokenPair:
    """A used or revoked refresh token: the same pair within the grace, else the family is revoked."""
    again = rotation.replay(row, token, now, runtime.settings.auth.refresh_grace_seconds)
    if again is not None:
        user = await session.get(User, row.user_id)
        usable = user is not None and not user.disabled
        await session.rollback()
        if not usable:
            raise Unauthorized("The refresh token is invalid, expired or revoked.")
        return again
    await _revoke_family(session, row.family_id)
    await session.commit()
    log.warning("refresh token reuse: family revoked", user_id=row.user_id, family_id=row.family_id)
    # Whoever holds the stale copy may hold an access token from it too.
    await sessions.end(runtime, session, row.user_id, "refresh_token_reused")
    raise Unauthorized("The refresh token is invalid, expired or revoked.")


async def logout(runtime: Runtime, session: AsyncSession, token: str) -> None:
    row = (
        await session.execute(sa.select(RefreshToken).where(RefreshToken.token_hash == codes.digest(token)))
    ).scalar_one_or_none()
    if row is not None:
        await _revoke_family(session, row.family_id)
        await session.commit()
        # The user's other devices keep their refresh tokens: they get new access tokens quietly.
        await sessions.end(runtime, session, row.user_id, "logout")


async def logout_everywhere(runtime: Runtime, session: AsyncSession, user_id: str) -> None:
    """Revoke every refresh token of the user and end their access tokens: every device is out."""
    await revoke_all(session, user_id)
    await sessions.end(runtime, session, user_id, "logout_everywhere")  # commits


# --- password reset ---------------------------------------------------------------------------


async def forgot_password(runtime: Runtime, session: AsyncSession, email: str, address: str) -> Message | None:
    email = normalise(email)
    await runtime.limiter.hit(runtime.settings.limits.codes_per_account, "reset", _per_client(email, address))
    await runtime.limiter.hit(runtime.settings.limits.login_per_address, "reset-address", address)
    user = await find_by_email(session, email)
    if user is None or user.disabled:
        return None
    token = await codes.new_code(runtime, session, user, codes.RESET)
    await session.commit()
    link = f"{runtime.settings.public_url.rstrip('/')}/reset-password?token={token}"
    return Message(user.email, "Reset your StoryBang password", f"Reset your password: {link}")


async def reset_password(runtime: Runtime, session: AsyncSession, data: ResetPassword) -> None:
    passwords.check_policy(data.new_password, field="new_password")
    code = await codes.use_code(session, None, codes.RESET, data.token)
    user = await session.get(User, code.user_id) if code else None
    if user is None:
        await session.rollback()
        raise BadRequest(_BAD_CODE, field="token")
    user.password_hash = await runtime.hasher.hash(data.new_password)
    user.updated_at = utcnow()
    await revoke_all(session, user.id)
    await session.commit()
    log.info("password reset", user_id=user.id)
    await sessions.end(runtime, session, user.id, "password_reset")


# --- the account ------------------------------------------------------------------------------


async def _reauthenticating(runtime: Runtime, user: User) -> None:
    # Whoever holds a token may guess the password here: as few guesses as at the login form, in a
    # bucket of its own so that they cannot lock the owner out of logging in.
    await runtime.limiter.hit(runtime.settings.limits.login_per_account, "reauth", user.id)


async def update_me(runtime: Runtime, session: AsyncSession, user: User, data: UserUpdate) -> User:
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.password is not None:
        await _reauthenticating(runtime, user)
        if not data.current_password or not await runtime.hasher.verify(user.password_hash, data.current_password):
            raise InvalidInput("The current password is wrong.", field="current_password")
        passwords.check_policy(data.password)
        user.password_hash = await runtime.hasher.hash(data.password)
        await revoke_all(session, user.id)
    user.updated_at = utcnow()
    await session.commit()
    if data.password is not None:
        await sessions.end(runtime, session, user.id, "password_changed")
    return user


async def delete_account(runtime: Runtime, session: AsyncSession, user: User, password: str) -> None:
    """Remove the account and everything it owns: documents of every domain, images, jobs.

    Only with the account's password: an access token may be stolen, the password is not in it.
    """
    await _reauthenticating(runtime, user)
    if not await runtime.hasher.verify(user.password_hash, password):
        raise InvalidInput("The password is wrong.", field="password")
    for collection in USER_COLLECTIONS:
        await runtime.documents.delete_many(collection, owner_id=user.id)
        await runtime.pages.changed(collection, user.id)  # pages are kept per collection (stores.pages)
    await runtime.blobs.delete_owner(user.id)
    user_id = user.id
    await session.delete(user)
    await session.commit()
    log.info("account deleted", user_id=user_id)
    await sessions.end(runtime, session, user_id, "account_deleted")
