"""What a socket must show at connect: an allowed Origin and a valid access token.

Plain functions over the connect request, so they are tested without a server. A failure is
:class:`Refused` with a stable ``code`` and a message a person can act on; the server hands both
to the client in the Socket.IO ``connect_error``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import ExpiredTokenError

from storybang import events
from storybang.security import tokens


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Hello:
    user_id: str
    expires_at: int
    last_event_id: str | None
    session_version: int = 0


# A browser page served from this machine (a dev server on any port): what `storybang dev` admits
# when no list is given. Sites elsewhere are never admitted by default.
LOOPBACK_ORIGIN = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"


@dataclass(frozen=True)
class OriginPolicy:
    """The list when there is one; else the server's own host, and in dev loopback origins too."""

    allowed: frozenset[str]
    loopback: bool

    @classmethod
    def build(cls, allowed: list[str], *, dev: bool) -> OriginPolicy:
        return cls(frozenset(o.rstrip("/") for o in allowed), loopback=dev and not allowed)

    def allows(self, origin: str | None, host: str | None) -> bool:
        # No Origin: not a browser, so nothing for this check to protect; the token still decides.
        if origin is None:
            return True
        if self.allowed:
            return origin.rstrip("/") in self.allowed
        if self.loopback and re.match(LOOPBACK_ORIGIN, origin):
            return True
        return host is not None and urlsplit(origin).netloc == host


def check(keys: tokens.KeySet, origins: OriginPolicy, environ: Mapping[str, Any], auth: object) -> Hello:
    """The user behind a connect request, or :class:`Refused`.

    ``auth`` is the client's ``{"token": ..., "last_event_id"?: ...}``; anything else is refused.
    """
    if not origins.allows(environ.get("HTTP_ORIGIN"), environ.get("HTTP_HOST")):
        raise Refused("origin_not_allowed", "This origin may not connect.")
    if not isinstance(auth, dict) or not isinstance(auth.get("token"), str) or not auth["token"]:
        raise Refused("missing_token", 'Connect with auth={"token": <access token>}.')
    try:
        claims = keys.verify(auth["token"])
    except tokens.InvalidToken as e:
        if isinstance(e.__cause__, ExpiredTokenError):
            raise Refused("token_expired", "The access token has expired: refresh it and reconnect.") from e
        raise Refused("invalid_token", "The access token is not valid.") from e
    last = auth.get("last_event_id")
    if last is not None:
        try:
            events.parse_id(last if isinstance(last, str) else "")
        except ValueError as e:
            raise Refused("invalid_last_event_id", "last_event_id is an event_id received earlier.") from e
    return Hello(claims.user_id, claims.expires_at, last, claims.session_version)
