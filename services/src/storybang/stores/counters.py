"""Daily counters for quotas: Redis (shared by every pod), or memory in the embedded default."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

# A day's counter outlives its day a little, so a job finishing after midnight still counts.
TTL_SECONDS = 2 * 24 * 3600


class Counters(Protocol):
    async def add(self, key: str, amount: int) -> int: ...

    async def get(self, key: str) -> int: ...

    async def close(self) -> None: ...


# KEYS[1] the counter; ARGV: amount, ttl. One command, applied atomically: a counter never lives on
# without its expiry.
_ADD_SCRIPT = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
"""


class RedisCounters:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._add = client.register_script(_ADD_SCRIPT)

    async def add(self, key: str, amount: int) -> int:
        return int(await self._add(keys=[f"storybang:count:{key}"], args=[amount, TTL_SECONDS]))

    async def get(self, key: str) -> int:
        value = await self._client.get(f"storybang:count:{key}")
        return int(value or 0)

    async def close(self) -> None:
        await self._client.aclose()


class MemoryCounters:
    def __init__(self) -> None:
        self._values: dict[str, tuple[int, float]] = {}

    async def add(self, key: str, amount: int) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        now = time.monotonic()
        total = (value if expires > now else 0) + amount
        self._values[key] = (total, now + TTL_SECONDS)
        return total

    async def get(self, key: str) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        return value if expires > time.monotonic() else 0

    async def close(self) -> None:
        self._values.clear()
