"""Each job's log lines, kept where an administrator can read them without a cluster login.

Every log line whose context carries a ``job_id`` (the worker's, the API's that queued the job, the
embedded dev worker's) is also handed to a :class:`Shipper`: :func:`storybang.logs.configure` gives
it the line as JSON, and the shipper only puts it on a bounded in-memory buffer. A background
thread writes the buffer out in batches, one Redis pipeline per batch: per job a list
``storybang:job-log:<job_id>`` trimmed to its last ``max_lines`` lines, expiring ``ttl_seconds``
after its last line. Logging never waits for Redis and never fails because of it: a line that
finds the buffer full, or whose batch Redis refuses, is dropped and counted in
``storybang_job_log_lines_dropped_total``.

Two destinations, one interface, picked like the event bus: :class:`RedisJobLines` where there is
a Redis URL, :class:`MemoryJobLines` (the process's own, :func:`in_process`) in ``storybang dev``,
whose API and workers share a process.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any, Protocol, cast

from prometheus_client import Counter
from redis import Redis as BlockingRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from storybang import logs
from storybang.stores import redis as clients

PREFIX = "storybang:job-log:"
# One round trip carries up to this many lines; a worker writes a few lines a job.
BATCH_LINES = 500
# How long a line may wait in the buffer before its batch is written: an administrator reads a
# failure's lines within about this long of the failure.
FLUSH_SECONDS = 0.5
# A process that exits writes what it still holds for at most this long.
EXIT_FLUSH_SECONDS = 2.0
# The embedded store forgets the oldest job past this many (it lives as long as `storybang dev`).
MEMORY_JOBS = 1000

DROPPED = Counter(
    "storybang_job_log_lines_dropped_total",
    "Log lines of jobs not kept for administrators, by reason (buffer_full: logged faster than "
    "they were written; store_down: Redis refused the batch).",
    ["reason"],
)
for _reason in ("buffer_full", "store_down"):  # at 0 from the start, so that a rate over it has a base
    DROPPED.labels(_reason)

log = logs.get(__name__)


class Destination(Protocol):
    """Where the shipper's thread writes a batch: lines (JSON text) by job id, oldest first.
    Raises ``RedisError`` (or ``OSError``) when the store is down."""

    def write(self, batch: Mapping[str, list[str]]) -> None: ...


class JobLines(Protocol):
    """What the API reads: a job's kept lines, oldest first."""

    async def read(self, job_id: str) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


class RedisDestination:
    def __init__(self, client: BlockingRedis, *, max_lines: int, ttl_seconds: int) -> None:
        self._client, self._max, self._ttl = client, max_lines, ttl_seconds

    def write(self, batch: Mapping[str, list[str]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for job_id, lines in batch.items():
            key = PREFIX + job_id
            pipe.rpush(key, *lines[-self._max :])
            pipe.ltrim(key, -self._max, -1)
            pipe.expire(key, self._ttl)
        pipe.execute()


class RedisJobLines:
    def __init__(self, client: Redis) -> None:
        self._client = client

    async def read(self, job_id: str) -> list[dict[str, Any]]:
        lines = cast(list[bytes], await self._client.lrange(PREFIX + job_id, 0, -1))
        return [json.loads(line) for line in lines]

    async def close(self) -> None:
        await self._client.aclose()


class MemoryJobLines:
    """The embedded store: both ends in one process, lost on restart."""

    def __init__(self, *, max_lines: int, max_jobs: int = MEMORY_JOBS) -> None:
        self._max, self._max_jobs = max_lines, max_jobs
        self._jobs: OrderedDict[str, deque[str]] = OrderedDict()
        self._lock = threading.Lock()

    def write(self, batch: Mapping[str, list[str]]) -> None:
        with self._lock:
            for job_id, lines in batch.items():
                kept = self._jobs.setdefault(job_id, deque(maxlen=self._max))
                kept.extend(lines)
                self._jobs.move_to_end(job_id)
            while len(self._jobs) > self._max_jobs:
                self._jobs.popitem(last=False)

    async def read(self, job_id: str) -> list[dict[str, Any]]:
        with self._lock:
            lines = list(self._jobs.get(job_id, ()))
        return [json.loads(line) for line in lines]

    async def close(self) -> None:
        return None  # the process's own: it outlives any one runtime


_in_process: MemoryJobLines | None = None
_in_process_lock = threading.Lock()


def in_process(max_lines: int) -> MemoryJobLines:
    """This process's embedded store, which the logging of `storybang dev` writes and its API reads.
    ``max_lines`` counts when the first caller makes it."""
    global _in_process
    with _in_process_lock:
        if _in_process is None:
            _in_process = MemoryJobLines(max_lines=max_lines)
        return _in_process


def destination(redis_url: str | None, *, max_lines: int, ttl_seconds: int) -> Destination:
    if not redis_url:
        return in_process(max_lines)
    return RedisDestination(clients.blocking_client(redis_url), max_lines=max_lines, ttl_seconds=ttl_seconds)


def reader(redis_url: str | None, *, max_lines: int) -> JobLines:
    if not redis_url:
        return in_process(max_lines)
    return RedisJobLines(clients.client(redis_url))


class Shipper:
    """A bounded buffer of ``(job_id, line)`` and the thread that writes it out in batches.

    :meth:`offer` is what logging calls: it never blocks and never raises.
    """

    def __init__(self, to: Destination, *, capacity: int) -> None:
        self._to = to
        self._buffer: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._down = False

    def offer(self, job_id: str, line: str) -> None:
        try:
            self._buffer.put_nowait((job_id, line))
        except queue.Full:
            DROPPED.labels("buffer_full").inc()

    def start(self) -> Shipper:
        self._thread = threading.Thread(target=self._run, name="job-log-shipper", daemon=True)
        self._thread.start()
        atexit.register(self.close, EXIT_FLUSH_SECONDS)
        return self

    def flush(self, timeout: float = 5.0) -> bool:
        """Write out every line offered so far (or drop it) now; False if that took longer than
        ``timeout`` seconds."""
        until = time.monotonic() + timeout
        self._wake.set()
        while self._buffer.unfinished_tasks:
            if time.monotonic() > until:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        """Write out what is left, then stop the thread."""
        if self._thread is None or self._closed.is_set():
            return
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout)
        with contextlib.suppress(ValueError):
            atexit.unregister(self.close)

    def _run(self) -> None:
        # The thread wakes every FLUSH_SECONDS rather than on each line: a log call then wakes no
        # one, and the lines of a busy second go out in a few round trips.
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            closing = self._closed.is_set()
            self._drain()
            if closing:
                return

    def _drain(self) -> None:
        while True:
            taken: list[tuple[str, str]] = []
            with contextlib.suppress(queue.Empty):
                while len(taken) < BATCH_LINES:
                    taken.append(self._buffer.get_nowait())
            if not taken:
                return
            self._write(taken)
            for _ in taken:
                self._buffer.task_done()

    def _write(self, taken: list[tuple[str, str]]) -> None:
        batch: dict[str, list[str]] = {}
        for job_id, line in taken:
            batch.setdefault(job_id, []).append(line)
        try:
            self._to.write(batch)
        except (RedisError, OSError) as e:
            DROPPED.labels("store_down").inc(len(taken))
            if not self._down:  # once per outage: this thread's own lines carry no job id
                log.warning("job log lines dropped: the store is unavailable", error=type(e).__name__)
            self._down = True
            return
        if self._down:
            log.info("job log lines kept again")
        self._down = False
