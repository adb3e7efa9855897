"""The only module that talks to Redis: how many messages wait in a Dramatiq queue, how long the
oldest has waited, and the announcements of new jobs that wake a model server scaled to zero.

Dramatiq's Redis broker keeps a queue as the list `<key>` of message ids, oldest first (it pushes
on the right and pops on the left), its retries in `<key>.DQ`, and the messages in the hashes
`<key>.msgs` and `<key>.DQ.msgs`; a message is JSON with its enqueue time in milliseconds
(`message_timestamp`). The generation API exports the same figures to Prometheus
(storybang.generation.backlog), so a Generator's status and the dashboards agree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable

import redis
import redis.asyncio

from storybang_operator import errors

# What a listener calls for each message: (channel, data).
OnMessage = Callable[[str, str], None]
# How long a listener waits before subscribing again after Redis went away.
RESUBSCRIBE_SECONDS = 5.0
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Backlog:
    depth: int  # messages waiting, retries included
    oldest_age_seconds: float  # 0 when none waits


def _age(message: bytes | str | None, now_ms: int) -> float:
    if message is None:  # taken by a worker between the two round trips
        return 0.0
    try:
        timestamp = int(json.loads(message).get("message_timestamp", now_ms))
    except (ValueError, TypeError, AttributeError):
        return 0.0  # not a Dramatiq message: it says nothing about an age
    return max(0.0, (now_ms - timestamp) / 1000)


class QueueReader:
    """Reads queue backlogs, keeping one connection pool per Redis URL."""

    def __init__(self, *, timeout: float) -> None:
        self._timeout = timeout
        self._clients: dict[str, redis.Redis] = {}
        self._lock = threading.Lock()

    def _client(self, url: str) -> redis.Redis:
        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = redis.Redis.from_url(url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout)
                self._clients[url] = client
            return client

    def depth(self, url: str, key: str) -> int:
        """The length of the Redis list `key` alone (what KEDA's redis scaler reads)."""
        try:
            return int(self._client(url).llen(key))
        except (redis.RedisError, ValueError) as e:
            raise errors.ApiError(f"reading {key} from Redis: {e}", reason="RedisUnavailable") from e

    def taken(self, url: str, key: str) -> int:
        """How many messages of the queue `key` workers hold unacknowledged: jobs running, or
        waiting for a model server to start. Dramatiq keeps them in one set per worker,
        `<namespace>:__acks__.<worker id>.<queue>`."""
        namespace, _, queue = key.partition(":")
        try:
            client = self._client(url)
            sets = list(client.scan_iter(match=f"{namespace}:__acks__.*.{queue}", count=500))
            pipe = client.pipeline(transaction=False)
            for name in sets:
                pipe.scard(name)
            return sum(int(n) for n in pipe.execute())
        except (redis.RedisError, ValueError) as e:
            raise errors.ApiError(f"reading the messages taken from {key}: {e}", reason="RedisUnavailable") from e

    def backlog(self, url: str, key: str) -> Backlog:
        """The queue `key` and its retries: how many messages wait and the age of the oldest, in
        two round trips."""
        names = (key, f"{key}.DQ")
        try:
            client = self._client(url)
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.llen(name)
                pipe.lindex(name, 0)
            answers = pipe.execute()
            heads = {name: head for name, head in zip(names, answers[1::2], strict=True) if head is not None}
            pipe = client.pipeline(transaction=False)
            for name, head in heads.items():
                pipe.hget(f"{name}.msgs", head)
            messages = pipe.execute()
        except (redis.RedisError, ValueError) as e:
            raise errors.ApiError(f"reading {key} from Redis: {e}", reason="RedisUnavailable") from e
        now_ms = int(time.time() * 1000)
        return Backlog(
            depth=sum(int(n) for n in answers[0::2]),
            oldest_age_seconds=max((_age(m, now_ms) for m in messages), default=0.0),
        )


async def listen(
    url: str,
    channels: Iterable[str],
    on_message: OnMessage,
    *,
    connect_timeout: float,
) -> None:
    """Call `on_message(channel, data)` for each message published on `channels` of the Redis at
    `url`, until cancelled; once subscribed (again), `on_message(channel, "")` for each channel,
    since what was published while not subscribed is lost. A Redis that goes away is subscribed
    to again every RESUBSCRIBE_SECONDS, with one warning per outage."""
    names = sorted(channels)
    failing = False
    while True:
        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=connect_timeout)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(*names)
                if failing:
                    logger.info("listening for new jobs on %s again", ", ".join(names))
                failing = False
                for name in names:
                    on_message(name, "")
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_message(_text(message["channel"]), _text(message["data"]))
        except (redis.RedisError, OSError) as e:
            if not failing:
                logger.warning("not listening for new jobs on %s: %s", ", ".join(names), e)
            failing = True
        finally:
            await client.aclose()
        await asyncio.sleep(RESUBSCRIBE_SECONDS)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
