"""Redis clients, made one way: a pooled asyncio client that retries a command once its
connection is found broken (Redis restarted, a failover), instead of failing the request."""

from __future__ import annotations

from redis import Redis as BlockingRedis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry as BlockingRetry

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


def blocking_client(url: str, *, timeout_seconds: float = 2.0) -> BlockingRedis:
    """A client for a thread of its own that would rather give up than wait: short timeouts, no
    retry (the job-log shipper drops a batch that Redis does not take at once)."""
    return BlockingRedis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=BlockingRetry(NoBackoff(), 0),
    )
