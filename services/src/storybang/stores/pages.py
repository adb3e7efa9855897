"""Pages of a person's documents as JSON, kept by each process while nothing of theirs has changed.

Every screen of the app reads a page of the writer's characters, and characters change seldom.
Reading them again from MongoDB on each request made that store the bound of the API's busiest
read (bench/api.py). So each process keeps the pages it made, each with the *version* it was made
at: a random token under the owner's mark in the counters (Redis, shared by every pod; memory in
`storybang dev`, shared with its workers).

- A read takes the token (one GET), then answers the kept page if it was made at that token. If
  there is no token, it sets a new one (only if still none) before reading the documents.
- A write takes the mark away right after the store has the change, before it is answered or
  announced. The next read, in any process, finds no token and reads the documents again.

This keeps read-your-writes across pods. A page is kept under a token only if it was read after
the token was taken. A token lives only until the next write takes it away. So a page answered
under a live token was read after every write that had been answered.

Tokens are random, never counted up. A mark lost to its expiry or to a restart of Redis cannot come
back as a value an older page was kept under. One case is left: a Redis restored from a snapshot
taken before a write could bring back a token. The setting ``pages.max_age_seconds`` (5 minutes)
bounds how long any page is kept, for that case; ``pages.kept`` bounds how many (1,024: about 13 MB
of pages of 20 characters).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Hashable

from cachetools import TTLCache
from prometheus_client import Counter

from storybang.settings import PageSettings
from storybang.stores.counters import Counters

# A token not taken away by a write lapses after a day; the next read then sets a new one.
MARK_TTL_SECONDS = 24 * 3600


READS = Counter(
    "storybang_kept_pages_total",
    "Reads of pages an API process keeps in memory, by scope and result (hit: the kept page was "
    "answered; miss: the page was read from the store).",
    ["scope", "result"],
)
for _result in ("hit", "miss"):  # at 0 from the start, so that a rate over them has a base
    READS.labels("characters", _result)


def _mark(scope: str, owner_id: str) -> str:
    return f"pages:{scope}:{owner_id}"


class Pages:
    def __init__(self, counters: Counters, settings: PageSettings) -> None:
        self._counters = counters
        self._kept: TTLCache[Hashable, tuple[str, bytes]] | None = (
            TTLCache(settings.kept, settings.max_age_seconds) if settings.kept else None  # 0: keep none
        )

    async def read(self, scope: str, owner_id: str, query: Hashable, make: Callable[[], Awaitable[bytes]]) -> bytes:
        """The page ``query`` of ``owner_id``'s ``scope``: kept, or made by ``make()`` now."""
        if self._kept is None:
            READS.labels(scope, "miss").inc()
            return await make()
        mark, key = _mark(scope, owner_id), (scope, owner_id, query)
        version = await self._counters.read_mark(mark)
        if version is None:
            token = secrets.token_hex(8)
            # Another reader may set one first: then this page is answered but not kept.
            new = await self._counters.swap_mark(mark, None, token, ttl_seconds=MARK_TTL_SECONDS)
            version = token if new else None
        else:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == version:
                READS.labels(scope, "hit").inc()
                return kept[1]
        READS.labels(scope, "miss").inc()
        page = await make()
        if version is not None:
            self._kept[key] = (version, page)
        return page

    async def changed(self, scope: str, owner_id: str) -> None:
        """Call after each write to ``owner_id``'s ``scope``, before the write is answered."""
        await self._counters.unmark(_mark(scope, owner_id))
