"""Queue depth is read from a real Redis server, where Dramatiq's broker keeps it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio

from storybang_operator import errors, queue
from storybang_operator.builders import generator
from storybang_testing.redis import RedisServer, redis_server
from storybang_testing.waiting import free_port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield f"{server.url}/0"


def test_depth_is_the_length_of_the_dramatiq_list(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = generator.queue_key("story")
    assert key == "dramatiq:story"
    # What Dramatiq's enqueue.lua does: the message in a hash, its id pushed onto the list.
    for i in range(3):
        client.hset(f"{key}.msgs", f"id-{i}", "{}")
        client.lpush(key, f"id-{i}")
    reader = queue.QueueReader(timeout=2)
    assert reader.depth(redis_url, key) == 3
    assert reader.depth(redis_url, generator.queue_key("image")) == 0


def test_unreachable_redis_is_a_transient_error() -> None:
    reader = queue.QueueReader(timeout=0.5)
    with pytest.raises(errors.ApiError) as caught:
        reader.depth(f"redis://127.0.0.1:{free_port()}/0", "dramatiq:story")
    assert caught.value.reason == "RedisUnavailable"


def test_taken_counts_the_messages_workers_hold_for_a_queue(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    # What Dramatiq's dispatch.lua does when a worker fetches: the id goes into its acks set.
    client.sadd("dramatiq:__acks__.worker-a.translate", "m1", "m2")
    client.sadd("dramatiq:__acks__.worker-b.translate", "m3")
    client.sadd("dramatiq:__acks__.worker-a.image", "m4")
    reader = queue.QueueReader(timeout=2)
    assert reader.taken(redis_url, generator.queue_key("translate")) == 3
    assert reader.taken(redis_url, generator.queue_key("describe")) == 0


def test_a_listener_hears_each_announcement_and_listens_again_after_redis_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "RESUBSCRIBE_SECONDS", 0.2)
    heard: list[tuple[str, str]] = []

    async def until(seen: tuple[str, str]) -> None:
        deadline = time.monotonic() + 10
        while seen not in heard:
            assert time.monotonic() < deadline, f"{seen} not heard: {heard}"
            await asyncio.sleep(0.02)

    async def scenario(server: RedisServer) -> None:
        url = f"{server.url}/0"
        listening = asyncio.create_task(
            queue.listen(url, ["dramatiq:wake"], lambda *message: heard.append(message), connect_timeout=1)
        )
        await until(("dramatiq:wake", ""))  # subscribed: what was announced before is unknown
        client = redis.asyncio.Redis.from_url(url)
        await client.publish("elsewhere:wake", "story")
        await client.publish("dramatiq:wake", "story")
        await until(("dramatiq:wake", "story"))
        assert heard == [("dramatiq:wake", ""), ("dramatiq:wake", "story")]  # not another channel's

        await client.aclose()
        server.restart()
        heard.clear()
        await until(("dramatiq:wake", ""))  # subscribed again
        client = redis.asyncio.Redis.from_url(url)
        await client.publish("dramatiq:wake", "translate")
        await until(("dramatiq:wake", "translate"))
        await client.aclose()
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening

    with redis_server(tmp_path) as server:
        asyncio.run(scenario(server))
