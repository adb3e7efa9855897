"""Waiting for a model server that is starting: the cold start of a server scaled to zero.

A ModelServer allowed to scale to zero has no pod while nobody writes; the job that wakes it
(its message is what the scaler counts) finds nothing listening: connection refused, or a 503
from whatever stands in front. A backend configured with ``cold_start_seconds`` then does not
count as down at once: when no other backend of the chain answers either, the job waits for the
first replica, asking again every few seconds, up to the longest cold start of the backends that
are starting (:class:`Waiting`). Meanwhile its owner hears ``generation.progress`` events with
``stage: "warming_up"`` (:func:`announcing`), and the wait counts as queueing for the job's limits
(:func:`storybang.generation.limits.queued`), neither progress nor being stuck. Past that, the
chain fails as for any backend that is down, and the job is retried or fails with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from storybang.generation import limits
from storybang.runtime import Runtime
from storybang.stores.documents import Doc

STAGE = "warming_up"
# The first look again is quick (a server that was only restarting), later ones every few seconds:
# a model takes tens of seconds to minutes to load, and each look is one cheap refused connection.
FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 5.0

Announce = Callable[[list[str], float], Awaitable[None]]
_announce: ContextVar[Announce | None] = ContextVar("storybang_job_warming_up", default=None)


@contextmanager
def announcing(runtime: Runtime, job: Doc) -> Iterator[None]:
    """While the block runs, a wait for a starting backend is announced to the job's owner."""

    async def announce(backends: list[str], waited: float) -> None:
        event = {"id": job["id"], "task": job["task"], "stage": STAGE, "backends": backends, "waited_seconds": waited}
        await runtime.events.publish(job["owner_id"], "generation.progress", event)

    token = _announce.set(announce)
    try:
        yield
    finally:
        _announce.reset(token)


class Waiting:
    """One chain call's waits for its starting backends (``cold_start`` seconds each, by name)."""

    def __init__(self, cold_start: Mapping[str, int]) -> None:
        self._cold_start = cold_start
        self._started = time.monotonic()
        self._poll = FIRST_POLL_SECONDS

    def starting(self, backend: str) -> bool:
        """Whether ``backend`` may be starting rather than down when nothing answers."""
        return self._cold_start.get(backend, 0) > 0

    async def wait(self, starting: list[str]) -> bool:
        """Wait a while for one of the ``starting`` backends; False once their cold starts are over
        (the chain then gives up as for backends that are down)."""
        waited = time.monotonic() - self._started
        left = max((self._cold_start.get(name, 0) for name in starting), default=0) - waited
        if left <= 0:
            return False
        announce = _announce.get()
        if announce is not None:
            await announce(starting, round(waited, 1))
        pause = min(self._poll, left)
        self._poll = min(self._poll * 2, MAX_POLL_SECONDS)
        await asyncio.sleep(pause)
        limits.queued(pause)
        return True
