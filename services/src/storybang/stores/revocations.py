"""Each user's session version: access tokens carrying an older one are refused.

Ending a user's sessions (logout, password change or reset, a reused refresh token, an account
disabled or deleted) increments the version in the user row, which the API reads on every request,
and records it here for the notifier, which reads no database. Redis shares it between pods; the
embedded default keeps it in memory. An entry needs to live only as long as an access token can:
older tokens have expired anyway, so a missing entry means "no token is refused".
"""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

_PREFIX = "storybang:session-version:"


class Revocations(Protocol):
    async def revoke(self, user_id: str, version: int) -> None:
        """Refuse the user's access tokens of a session version below ``version``."""
        ...

    async def version(self, user_id: str) -> int:
        """The lowest session version still accepted; 0 when every version is."""
        ...

    async def close(self) -> None: ...


class RedisRevocations:
    def __init__(self, client: Redis, *, ttl_seconds: int) -> None:
        self._client = client
        self._ttl = ttl_seconds

    async def revoke(self, user_id: str, version: int) -> None:
        await self._client.set(_PREFIX + user_id, version, ex=self._ttl)

    async def version(self, user_id: str) -> int:
        value = await self._client.get(_PREFIX + user_id)
        return int(value or 0)

    async def close(self) -> None:
        await self._client.aclose()


class MemoryRevocations:
    def __init__(self, *, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._values: dict[str, tuple[int, float]] = {}

    async def revoke(self, user_id: str, version: int) -> None:
        self._values[user_id] = (version, time.monotonic() + self._ttl)

    async def version(self, user_id: str) -> int:
        version, expires = self._values.get(user_id, (0, 0.0))
        return version if expires > time.monotonic() else 0

    async def close(self) -> None:
        self._values.clear()
