"""Who is calling: an access token checked on every request, cheaply.

Two caches keep a request's check to a dictionary lookup or two, without weakening it:

- **Verified tokens.** A token's signature and fixed claims are verified once per process; the same
  token string afterwards maps to the same claims, and only what changes with time (expiry) is
  checked again on every request. Only exact token strings are kept, so a forged or altered token
  never matches an entry.
- **Account standing** (role, disabled, session version: the part of the user row every request
  needs) for ``STANDING_TTL_SECONDS``. Ending a user's sessions in this process (logout, password
  change, disabling, deletion: :mod:`storybang.identity.sessions`) drops the entry at once; any
  other process sees the change within the TTL. A standing read that races with such a drop is not
  kept (:attr:`AccessCache.generation`). When an entry runs out, the requests of that account that
  arrive while it is read again wait for that one read (:meth:`AccessCache.refresh`): under load,
  every request in flight would otherwise read the same row at once, a pile-up that held them for
  a second on `storybang dev` (bench/api.py's p99).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from storybang.security import tokens

# How long a process may act on an account's standing read earlier: a disabled account or an ended
# session is refused by every API process within this time (in the process that made the change,
# at once). Long enough that a busy user costs one user-row read per this many seconds.
STANDING_TTL_SECONDS = 2.0
# Entries kept per cache. Past that the oldest go first: an evicted entry costs one verification or
# one read, never a wrong answer.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Standing:
    """What every request must know of its account: enough to refuse a disabled or ended one."""

    role: str
    disabled: bool
    session_version: int


@dataclass(frozen=True)
class Principal:
    """The caller of a request, checked: an account that exists, is enabled, and whose session the
    token belongs to. What the domains' routes need (the id); identity's own routes read the row."""

    id: str
    role: str


K = TypeVar("K")
V = TypeVar("V")


class SessionEnded(tokens.InvalidToken):
    """The token's session was ended (a logout, a password change): refresh or log in again."""


def _bounded_put(entries: dict[K, V], key: K, value: V) -> None:
    if len(entries) >= MAX_ENTRIES:
        del entries[next(iter(entries))]  # dicts keep insertion order: the oldest
    entries[key] = value


class AccessCache:
    def __init__(self, keys: tokens.KeySet, ttl_seconds: float = STANDING_TTL_SECONDS) -> None:
        self._keys = keys
        self._ttl = ttl_seconds
        self._claims: dict[str, tokens.AccessClaims] = {}
        self._standing: dict[str, tuple[float, Standing | None]] = {}
        # The standing reads under way, by account: later askers wait for them (refresh()).
        self._reading: dict[str, asyncio.Future[Standing | None]] = {}
        # Bumped by every forget(): a read that began before one is not kept.
        self.generation = 0

    def verify(self, token: str) -> tokens.AccessClaims:
        """The token's claims, or :class:`tokens.InvalidToken`; see :meth:`tokens.KeySet.verify`."""
        claims = self._claims.get(token)
        if claims is None:
            claims = self._keys.verify(token)
            _bounded_put(self._claims, token, claims)
        if time.time() > claims.expires_at + tokens.LEEWAY:
            self._claims.pop(token, None)
            raise tokens.InvalidToken("expired")
        return claims

    def standing(self, user_id: str) -> tuple[bool, Standing | None]:
        """``(known, standing)``: known is False when the account must be read (again); a standing
        of None is an account that does not exist."""
        entry = self._standing.get(user_id)
        if entry is None or time.monotonic() > entry[0]:
            return False, None
        return True, entry[1]

    def remember(self, user_id: str, standing: Standing | None, generation: int) -> None:
        """Keep ``standing``, read after :attr:`generation` was ``generation``, unless an account's
        sessions ended meanwhile."""
        if generation == self.generation:
            _bounded_put(self._standing, user_id, (time.monotonic() + self._ttl, standing))

    async def refresh(self, user_id: str, read: Callable[[], Awaitable[Standing | None]]) -> Standing | None:
        """The account's standing as ``read()`` finds it now, kept for the TTL. A request that asks
        while a read of the same account is under way waits for that read instead of making its
        own, unless the account changed (:meth:`forget`) since that read began: then it reads anew.
        A read that fails fails every request waiting for it; the next request reads again."""
        reading = self._reading.get(user_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read(user_id, read))
            self._reading[user_id] = reading
            reading.add_done_callback(lambda done: self._read_done(user_id, done))
        # Shielded: a request that goes away (its client hung up) leaves the read to the others.
        return await asyncio.shield(reading)

    async def _read(self, user_id: str, read: Callable[[], Awaitable[Standing | None]]) -> Standing | None:
        generation = self.generation
        standing = await read()
        self.remember(user_id, standing, generation)
        return standing

    def _read_done(self, user_id: str, done: asyncio.Future[Standing | None]) -> None:
        if self._reading.get(user_id) is done:
            del self._reading[user_id]
        if not done.cancelled():
            done.exception()  # retrieved: the waiters were told; none may be left to tell

    def forget(self, user_id: str) -> None:
        """The account changed (sessions ended, disabled, deleted): read it again next time."""
        self.generation += 1
        self._standing.pop(user_id, None)
        self._reading.pop(user_id, None)  # a read begun before the change serves no later request


def check(claims: tokens.AccessClaims, standing: Standing | None) -> Standing:
    """Refuse a token whose account is gone or disabled, or whose session has ended."""
    if standing is None or standing.disabled:
        raise tokens.InvalidToken("no such account, or disabled")
    if claims.session_version < standing.session_version:
        raise SessionEnded("the session has ended")
    return standing
