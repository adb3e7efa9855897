"""Rate limits on Redis (shared by every pod), or in memory in the embedded default.

A thin wrapper over the `limits` library's moving-window strategy that turns "over the limit"
into :class:`storybang.errors.TooManyRequests` with an honest Retry-After.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from storybang.errors import TooManyRequests


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def open(cls, redis_url: str | None) -> RateLimiter:
        if redis_url:
            # limits wants its own scheme for the asyncio client: async+redis://
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            return cls(RedisStorage(uri, implementation="redispy", key_prefix="storybang:limits"))
        return cls(MemoryStorage())

    async def hit(self, rule: str, *keys: str) -> None:
        """Count one attempt; raise TooManyRequests when ``rule`` is already exhausted for ``keys``."""
        item = parse(rule)
        if await self._limiter.hit(item, *keys):
            return
        stats = await self._limiter.get_window_stats(item, *keys)
        raise TooManyRequests(
            "Too many attempts; try again later.", retry_after=math.ceil(stats.reset_time - time.time())
        )

    async def clear(self, rule: str, *keys: str) -> None:
        await self._limiter.clear(parse(rule), *keys)

    async def ping(self) -> None:
        if not await self._storage.check():
            raise ConnectionError("rate-limit storage is unreachable")

    async def reset_all(self) -> None:
        await self._storage.reset()
