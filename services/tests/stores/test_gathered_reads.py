"""GETs made in one turn of the event loop go to Redis as one MGET (storybang.stores.redis.Gathered),
on the real Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError

from storybang.stores import redis
from storybang_testing.waiting import free_port


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    made = redis.client(redis_url)
    yield made
    await made.aclose()


async def mgets(client: Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


async def test_reads_made_together_share_one_mget_and_each_gets_its_own_value(client: Redis) -> None:
    prefix = f"gathered-{secrets.token_hex(4)}:"
    await client.mset({f"{prefix}{n}": f"value {n}" for n in range(5)})
    gathered = redis.Gathered(client)
    before = await mgets(client)
    keys = [f"{prefix}{n}" for n in (0, 1, 2, 3, 4, 2)] + [f"{prefix}missing"]
    values = await asyncio.gather(*(gathered.get(key) for key in keys))
    assert values == [b"value 0", b"value 1", b"value 2", b"value 3", b"value 4", b"value 2", None]
    assert await mgets(client) == before + 1


async def test_reads_of_different_turns_are_sent_apart(client: Redis) -> None:
    key = f"gathered-{secrets.token_hex(4)}"
    gathered = redis.Gathered(client)
    before = await mgets(client)
    assert await gathered.get(key) is None
    await client.set(key, "now")
    assert await gathered.get(key) == b"now"
    assert await mgets(client) == before + 2


async def test_a_cancelled_read_leaves_the_others_their_values(client: Redis) -> None:
    key = f"gathered-{secrets.token_hex(4)}"
    await client.set(key, "kept")
    gathered = redis.Gathered(client)
    reads = [asyncio.ensure_future(gathered.get(key)) for _ in range(3)]
    await asyncio.sleep(0)  # each read has joined the turn's MGET
    reads[0].cancel()
    assert await asyncio.gather(reads[1], reads[2]) == [b"kept", b"kept"]
    assert reads[0].cancelled()


async def test_every_read_of_a_failed_mget_gets_its_error() -> None:
    nobody = redis.client(f"redis://127.0.0.1:{free_port()}/0", retries=0)  # nothing listens there
    gathered = redis.Gathered(nobody)
    results = await asyncio.gather(gathered.get("a"), gathered.get("b"), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    await nobody.aclose()
