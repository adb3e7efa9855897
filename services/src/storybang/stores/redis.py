"""Redis clients, made one way: a pooled asyncio client that retries a command once its
connection is found broken (Redis restarted, a failover), instead of failing the request.
:class:`Gathered` sends the GETs that one turn of the event loop makes as one MGET."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

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


# A value as the client hands it back: bytes, or str from a client that decodes its responses.
Value = bytes | str | None


@dataclass
class _Turn:
    values: asyncio.Future[dict[str, Value]]
    keys: list[str] = field(default_factory=list)


def _retrieved(values: asyncio.Future[dict[str, Value]]) -> None:
    # Every reader may have been cancelled: an error nobody read is not worth a warning.
    if not values.cancelled():
        values.exception()


class Gathered:
    """GETs of single keys, those made in one turn of the event loop sent together as one MGET.

    Under load an API process has many reads in hand at once, and redis-py spends about 90 µs of
    CPU on each command: a third of the busiest read, the list of characters (bench/api.py). Gathered,
    the reads of a turn share one round trip, and a read made alone waits only for the end of its
    turn. A read that is cancelled leaves the others theirs; an MGET that fails fails each of them.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._turn: _Turn | None = None
        # The event loop keeps only weak references to tasks: these are kept until they are done.
        self._sending: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> Value:
        turn = self._turn
        if turn is None:
            loop = asyncio.get_running_loop()
            turn = self._turn = _Turn(loop.create_future())
            turn.values.add_done_callback(_retrieved)
            loop.call_soon(self._send, turn)
        turn.keys.append(key)
        values = await asyncio.shield(turn.values)
        return values[key]

    def _send(self, turn: _Turn) -> None:
        self._turn = None
        task = asyncio.ensure_future(self._mget(turn))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _mget(self, turn: _Turn) -> None:
        try:
            values = await self._client.mget(turn.keys)
        except asyncio.CancelledError:
            turn.values.cancel()
            raise
        except Exception as e:  # handed to every reader, who raise it
            turn.values.set_exception(e)
        else:
            turn.values.set_result(dict(zip(turn.keys, values, strict=True)))
