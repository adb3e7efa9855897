"""Pages kept while their owner's mark lives (storybang.stores.pages), on both kinds of counters:
Redis (every pod of a cluster) and memory (`storybang dev`)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from storybang.settings import PageSettings
from storybang.stores import redis
from storybang.stores.counters import Counters, MemoryCounters, RedisCounters
from storybang.stores.pages import Pages


@pytest.fixture(params=["redis", "memory"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    if request.param == "redis":
        made: Counters = RedisCounters(redis.client(request.getfixturevalue("redis_url")))
    else:
        made = MemoryCounters()
    yield made
    await made.close()


def pages_made() -> tuple[list[bytes], Callable[[], Awaitable[bytes]]]:
    """``make`` for :meth:`Pages.read`, and the pages it made, numbered in order."""
    made: list[bytes] = []

    async def make() -> bytes:
        made.append(f"page {len(made) + 1}".encode())
        return made[-1]

    return made, make


async def test_a_page_is_made_once_while_its_owner_writes_nothing(counters: Counters) -> None:
    pages, owner = Pages(counters, PageSettings()), secrets.token_hex(6)
    made, make = pages_made()
    assert await pages.read("things", owner, "first", make) == b"page 1"
    assert await pages.read("things", owner, "first", make) == b"page 1"
    assert await pages.read("things", owner, "second", make) == b"page 2"
    assert await pages.read("others", owner, "first", make) == b"page 3"
    await pages.changed("things", owner)
    assert await pages.read("things", owner, "first", make) == b"page 4"
    assert await pages.read("things", owner, "second", make) == b"page 5"
    assert await pages.read("others", owner, "first", make) == b"page 3"  # another scope: unchanged
    assert await pages.read("things", owner, "first", make) == b"page 4"
    assert len(made) == 5


async def test_a_change_through_one_process_is_seen_by_the_pages_of_another(counters: Counters) -> None:
    pod, other_pod, owner = Pages(counters, PageSettings()), Pages(counters, PageSettings()), secrets.token_hex(6)
    _, make = pages_made()
    assert await pod.read("things", owner, "first", make) == b"page 1"
    assert await other_pod.read("things", owner, "first", make) == b"page 2"
    await other_pod.changed("things", owner)
    assert await pod.read("things", owner, "first", make) == b"page 3"
    assert await pod.read("things", owner, "first", make) == b"page 3"


async def test_no_page_is_kept_past_its_longest_age(counters: Counters) -> None:
    pages, owner = Pages(counters, PageSettings(max_age_seconds=0.2)), secrets.token_hex(6)
    _, make = pages_made()
    assert await pages.read("things", owner, "first", make) == b"page 1"
    await asyncio.sleep(0.3)
    assert await pages.read("things", owner, "first", make) == b"page 2"


class AnotherReaderFirst:
    """The counters, with another process's reader setting the owner's token just after this one
    found none: the race :meth:`Pages.read` loses when two first reads meet."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    async def read_mark(self, key: str) -> str | None:
        seen = await self.counters.read_mark(key)
        if seen is None:
            assert await self.counters.swap_mark(key, None, "another reader's", ttl_seconds=60)
        return seen

    async def swap_mark(self, key: str, seen: str | None, value: str, *, ttl_seconds: int) -> bool:
        return await self.counters.swap_mark(key, seen, value, ttl_seconds=ttl_seconds)

    async def unmark(self, key: str) -> None:
        await self.counters.unmark(key)


async def test_a_reader_that_loses_the_race_to_set_the_token_answers_its_page_but_keeps_none(
    counters: Counters,
) -> None:
    racing = AnotherReaderFirst(counters)
    pages, owner = Pages(racing, PageSettings()), secrets.token_hex(6)  # type: ignore[arg-type]  # only the marks are used
    _, make = pages_made()
    assert await pages.read("things", owner, "first", make) == b"page 1"
    assert await pages.read("things", owner, "first", make) == b"page 2"  # not kept: read again
    assert await pages.read("things", owner, "first", make) == b"page 2"  # kept, at the other's token


async def test_with_none_to_keep_every_read_makes_its_page(counters: Counters) -> None:
    """``pages.kept: 0``: no memory spent on pages; each read goes to the store."""
    pages, owner = Pages(counters, PageSettings(kept=0)), secrets.token_hex(6)
    made, make = pages_made()
    assert [await pages.read("things", owner, "first", make) for _ in range(3)] == [b"page 1", b"page 2", b"page 3"]
    await pages.changed("things", owner)  # the pages other processes keep are still marked out of date
    assert await pages.read("things", owner, "first", make) == b"page 4"
    assert len(made) == 4


async def test_past_the_most_pages_kept_the_least_recently_read_is_made_again(counters: Counters) -> None:
    pages, owner = Pages(counters, PageSettings(kept=2)), secrets.token_hex(6)
    _, make = pages_made()
    assert await pages.read("things", owner, "first", make) == b"page 1"
    assert await pages.read("things", owner, "second", make) == b"page 2"
    assert await pages.read("things", owner, "first", make) == b"page 1"  # kept; "second" is now the oldest read
    assert await pages.read("things", owner, "third", make) == b"page 3"  # "second" goes
    assert await pages.read("things", owner, "first", make) == b"page 1"
    assert await pages.read("things", owner, "second", make) == b"page 4"
