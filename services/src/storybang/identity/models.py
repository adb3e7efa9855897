"""Identity tables (SQL) and the API's request/response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy.orm import Mapped, mapped_column

from storybang.stores.sql import Base, UTCDateTime

Role = Literal["user", "admin"]
# NIST SP 800-63B: at least 8 characters, allow at least 64; no composition rules.
PASSWORD_MIN, PASSWORD_MAX = 8, 128
Password = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Access tokens of an older session version are refused (see storybang.identity.sessions).
    session_version: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")


class RefreshToken(Base):
    """One refresh token; tokens issued by rotating one another share a ``family_id`` (RFC 9700)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    family_id: Mapped[str] = mapped_column(sa.String(24), index=True)
    user_id: Mapped[str] = mapped_column(sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The pair this token was rotated into, sealed with a key only the token itself yields: what a
    # racing refresh gets back within the grace (storybang.identity.rotation).
    successor: Mapped[bytes | None] = mapped_column(sa.LargeBinary(), nullable=True)


class OneTimeCode(Base):
    """A verification code or a password-reset token, stored hashed, single use, expiring."""

    __tablename__ = "one_time_codes"

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    code_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- API models -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Register(_Strict):
    email: EmailStr = Field(max_length=320)
    password: Password
    display_name: DisplayName


class Verify(_Strict):
    email: EmailStr = Field(max_length=320)
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Login(_Strict):
    email: EmailStr = Field(max_length=320)
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class RefreshRequest(_Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ForgotPassword(_Strict):
    email: EmailStr = Field(max_length=320)


class ResetPassword(_Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    display_name: str
    role: Role
    verified: bool
    disabled: bool
    created_at: datetime


class UserUpdate(_Strict):
    display_name: DisplayName | None = None
    password: Password | None = None
    current_password: Annotated[str, Field(max_length=PASSWORD_MAX)] | None = None


class AccountDeletion(_Strict):
    """The password again: a stolen access token alone must not erase an account and its work."""

    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class AdminUserUpdate(_Strict):
    disabled: bool | None = None
    role: Role | None = None


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None
