"""Per-user counters, shared by every pod in Redis (or kept in memory in the embedded default):

- daily counters for quotas (:meth:`Counters.add`, :meth:`Counters.get`);
- the set of a user's jobs in flight, each with the time it was admitted: :meth:`Counters.admit`
  checks the limits and adds a job in one atomic step (two submissions at once cannot both take the
  last place), :meth:`Counters.finish` takes it out and counts what it used, again in one step;
- marks: a short value under a key (:meth:`Counters.mark`), read back by :meth:`Counters.finish`
  or :meth:`Counters.read_mark`, replaced only if unchanged since (:meth:`Counters.swap_mark`),
  taken away by :meth:`Counters.unmark`.

Each is one Redis command (a script where it does several things), so that a job's admission and
its end cost one round trip each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from redis.asyncio import Redis

from storybang.stores import redis

# A day's counter outlives its day a little, so a job finishing after midnight still counts.
TTL_SECONDS = 2 * 24 * 3600
PREFIX = "storybang:count:"


@dataclass(frozen=True)
class Admission:
    """What :meth:`Counters.admit` saw: ``active`` jobs in the set (the new one included when
    admitted) and ``used`` of the quota (None when the set was full and the quota was not read)."""

    admitted: bool
    active: int
    used: int | None


class Counters(Protocol):
    async def add(self, key: str, amount: int) -> int: ...

    async def get(self, key: str) -> int: ...

    async def admit(self, members: str, member: str, *, limit: int, quota: str, quota_limit: int) -> Admission:
        """Add ``member`` to the set ``members`` if it holds fewer than ``limit`` and the counter
        ``quota`` is under ``quota_limit``."""
        ...

    async def finish(self, members: str, member: str, *, add: dict[str, int], mark: str | None = None) -> str | None:
        """Take ``member`` out of ``members``, add ``add``'s amounts to their counters; returns the
        value of the mark ``mark`` (None: not set, or not asked)."""
        ...

    async def members(self, members: str) -> dict[str, float]:
        """The members of ``members``, each with the Unix time it was admitted."""
        ...

    async def prune(self, members: str, *, keep: Sequence[str], admitted_before: float) -> int:
        """Take out of ``members`` those not in ``keep`` that were admitted before the Unix time
        ``admitted_before``; returns how many are left."""
        ...

    async def mark(self, key: str, value: str) -> None:
        """Set the mark ``key`` to ``value``, for good."""
        ...

    async def swap_mark(self, key: str, seen: str | None, value: str, *, ttl_seconds: int) -> bool:
        """Set the mark ``key`` to ``value`` for ``ttl_seconds`` if it is still ``seen`` (None: unset)."""
        ...

    async def read_mark(self, key: str) -> str | None:
        """The mark ``key``; None when unset."""
        ...

    async def unmark(self, key: str) -> None:
        """Take the mark ``key`` away."""
        ...

    async def close(self) -> None: ...


# KEYS[1] the counter; ARGV: amount, ttl. One command, applied atomically: a counter never lives on
# without its expiry.
_ADD_SCRIPT = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
"""

# KEYS: the set (a sorted set scored by admission time, ms), the quota counter.
# ARGV: member, now (ms), limit, quota limit. Returns {admitted, active, used (-1: not read)}.
_ADMIT_SCRIPT = """
local active = redis.call('ZCARD', KEYS[1])
if active >= tonumber(ARGV[3]) then return {0, active, -1} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= tonumber(ARGV[4]) then return {0, active, used} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return {1, redis.call('ZCARD', KEYS[1]), used}
"""

# KEYS: the set, the mark ('' when not asked), then the counters to add to.
# ARGV: member, ttl, then each amount.
_FINISH_SCRIPT = """
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 3, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
if KEYS[2] == '' then return false end
return redis.call('GET', KEYS[2])
"""

# KEYS[1] the mark; ARGV: the value seen ('' for none), the new value, ttl.
_SWAP_SCRIPT = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

# KEYS[1] the set; ARGV: admitted before (ms), then the members to keep. Returns the members left.
_PRUNE_SCRIPT = """
local keep = {}
for i = 2, #ARGV do keep[ARGV[i]] = true end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])) do
  if not keep[member] then redis.call('ZREM', KEYS[1], member) end
end
return redis.call('ZCARD', KEYS[1])
"""


class RedisCounters:
    def __init__(self, client: Redis) -> None:
        self._client = client
        # Read on every list of characters (storybang.stores.pages): gathered into MGETs.
        self._marks = redis.Gathered(client)
        self._add = client.register_script(_ADD_SCRIPT)
        self._admit = client.register_script(_ADMIT_SCRIPT)
        self._finish = client.register_script(_FINISH_SCRIPT)
        self._prune = client.register_script(_PRUNE_SCRIPT)
        self._swap = client.register_script(_SWAP_SCRIPT)

    async def add(self, key: str, amount: int) -> int:
        return int(await self._add(keys=[PREFIX + key], args=[amount, TTL_SECONDS]))

    async def get(self, key: str) -> int:
        value = await self._client.get(PREFIX + key)
        return int(value or 0)

    async def admit(self, members: str, member: str, *, limit: int, quota: str, quota_limit: int) -> Admission:
        now_ms = int(time.time() * 1000)
        admitted, active, used = await self._admit(
            keys=[PREFIX + members, PREFIX + quota], args=[member, now_ms, limit, quota_limit]
        )
        return Admission(bool(admitted), int(active), None if int(used) < 0 else int(used))

    async def finish(self, members: str, member: str, *, add: dict[str, int], mark: str | None = None) -> str | None:
        adds = {PREFIX + key: amount for key, amount in add.items() if amount}
        keys = [PREFIX + members, PREFIX + mark if mark else "", *adds]
        value = await self._finish(keys=keys, args=[member, TTL_SECONDS, *adds.values()])
        if mark is None or value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def members(self, members: str) -> dict[str, float]:
        pairs = cast(list[tuple[bytes, float]], await self._client.zrange(PREFIX + members, 0, -1, withscores=True))
        return {(m.decode() if isinstance(m, bytes) else str(m)): float(score) / 1000 for m, score in pairs}

    async def prune(self, members: str, *, keep: Sequence[str], admitted_before: float) -> int:
        return int(await self._prune(keys=[PREFIX + members], args=[int(admitted_before * 1000), *keep]))

    async def mark(self, key: str, value: str) -> None:
        await self._client.set(PREFIX + key, value)

    async def swap_mark(self, key: str, seen: str | None, value: str, *, ttl_seconds: int) -> bool:
        return bool(await self._swap(keys=[PREFIX + key], args=[seen or "", value, ttl_seconds]))

    async def read_mark(self, key: str) -> str | None:
        value = await self._marks.get(PREFIX + key)
        return value.decode() if isinstance(value, bytes) else value

    async def unmark(self, key: str) -> None:
        await self._client.delete(PREFIX + key)

    async def close(self) -> None:
        await self._client.aclose()


class MemoryCounters:
    """The embedded counters. `storybang dev` shares one between its API's event loop and its
    workers' (each a thread), so every step runs under one lock, with no await inside."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[int, float]] = {}
        self._sets: dict[str, dict[str, float]] = {}
        self._marks: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _add(self, key: str, amount: int) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        now = time.monotonic()
        total = (value if expires > now else 0) + amount
        self._values[key] = (total, now + TTL_SECONDS)
        return total

    def _get(self, key: str) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        return value if expires > time.monotonic() else 0

    def _mark(self, key: str) -> str | None:
        value, expires = self._marks.get(key, ("", 0.0))
        return value if expires > time.monotonic() else None

    async def add(self, key: str, amount: int) -> int:
        with self._lock:
            return self._add(key, amount)

    async def get(self, key: str) -> int:
        with self._lock:
            return self._get(key)

    async def admit(self, members: str, member: str, *, limit: int, quota: str, quota_limit: int) -> Admission:
        with self._lock:
            admitted = self._sets.setdefault(members, {})
            if len(admitted) >= limit:
                return Admission(False, len(admitted), None)
            used = self._get(quota)
            if used >= quota_limit:
                return Admission(False, len(admitted), used)
            admitted[member] = time.time()
            return Admission(True, len(admitted), used)

    async def finish(self, members: str, member: str, *, add: dict[str, int], mark: str | None = None) -> str | None:
        with self._lock:
            self._sets.get(members, {}).pop(member, None)
            for key, amount in add.items():
                if amount:
                    self._add(key, amount)
            return self._mark(mark) if mark else None

    async def members(self, members: str) -> dict[str, float]:
        with self._lock:
            return dict(self._sets.get(members, {}))

    async def prune(self, members: str, *, keep: Sequence[str], admitted_before: float) -> int:
        with self._lock:
            admitted = self._sets.get(members, {})
            for member in [m for m, at in admitted.items() if at < admitted_before and m not in keep]:
                del admitted[member]
            return len(admitted)

    async def mark(self, key: str, value: str) -> None:
        with self._lock:
            self._marks[key] = (value, float("inf"))

    async def swap_mark(self, key: str, seen: str | None, value: str, *, ttl_seconds: int) -> bool:
        with self._lock:
            if self._mark(key) != seen:
                return False
            self._marks[key] = (value, time.monotonic() + ttl_seconds)
            return True

    async def read_mark(self, key: str) -> str | None:
        with self._lock:
            return self._mark(key)

    async def unmark(self, key: str) -> None:
        with self._lock:
            self._marks.pop(key, None)

    async def close(self) -> None:
        return None  # in memory, and possibly shared: it goes with the process
