"""The only module that talks to Redis: how many messages wait in a Dramatiq queue."""

from __future__ import annotations

import threading

import redis

from storybang_operator import errors


class QueueReader:
    """Reads queue depths, keeping one connection pool per Redis URL."""

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
        """The length of the Redis list `key` (Dramatiq's pending message ids of one queue)."""
        try:
            return int(self._client(url).llen(key))
        except (redis.RedisError, ValueError) as e:
            raise errors.ApiError(f"reading {key} from Redis: {e}", reason="RedisUnavailable") from e
