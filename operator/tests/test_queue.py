"""Queue depth is read from a real Redis server, where Dramatiq's broker keeps it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from storybang_operator import errors, queue
from storybang_operator.builders import generator
from storybang_testing.redis import redis_server
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
