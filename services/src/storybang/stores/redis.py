"""Redis clients, made one way: a pooled asyncio client that retries a command once its
connection is found broken (Redis restarted, a failover), instead of failing the request."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

RETRIES = 3


def client(url: str, *, decode_responses: bool = False, retries: int = RETRIES) -> Redis:
    """``retries=0`` for commands that must not run twice: a retried script whose first run
    succeeded but whose answer was lost would run again."""
    return Redis.from_url(
        url,
        decode_responses=decode_responses,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=[ConnectionError, TimeoutError],
        health_check_interval=30,
        socket_connect_timeout=5,
    )
