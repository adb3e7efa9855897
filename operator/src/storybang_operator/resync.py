"""The resync queue: every resource is reconciled again every `interval` seconds, and at once when
one of its children changes in a way its status does not show yet.

Kopf's timers would do the periodic part, but Kopf puts a finalizer on every resource that has a
timer, so that a resource could not be deleted while the operator is down (nor a namespace, nor a
Helm release whose operator goes first). Children need no cleanup of ours (owner references do
it), so the operator keeps no finalizer: this queue walks the resources Kopf's indexes know.

One key is queued at most once and reconciled by one worker at a time; a few workers drain the
queue (the callback runs the blocking reconcilers in threads). A nudge goes ahead of the periodic
walk's keys: with a thousand resources walked, a child that has just changed is not reconciled
behind all of them (a key already waiting for the walk moves forward).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable

Key = tuple[str, str, str]  # kind, namespace, name
RESYNC = "resync"
# Queue order: nudges first, then the walk's keys, each in the order they came.
URGENT, PERIODIC = 0, 1
logger = logging.getLogger(__name__)


class ResyncQueue:
    """Keys to reconcile, with why (`resync` for the periodic walk, `child` for a nudge)."""

    def __init__(
        self,
        *,
        interval: float,
        initial_delay: float,
        workers: int,
        keys: Callable[[], Iterable[Key]],
        reconcile: Callable[[Key, str], Awaitable[None]],
    ) -> None:
        self._interval = interval
        self._initial_delay = initial_delay
        self._workers = workers
        self._keys = keys
        self._reconcile = reconcile
        self._queue: asyncio.PriorityQueue[tuple[int, int, Key]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._pending: dict[Key, str] = {}
        # A key being reconciled is not given to a second worker: it runs again afterwards.
        self._active: set[Key] = set()
        self._again: dict[Key, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def nudge(self, key: Key, trigger: str = "child") -> None:
        """Reconcile `key` soon, and before the walk's keys unless `trigger` is the walk's own; a
        key already waiting is not queued twice. Event loop only."""
        waiting = self._pending.get(key)
        urgent = trigger != RESYNC
        if waiting is not None and (waiting != RESYNC or not urgent):
            return
        # A key waiting for the walk is queued again ahead; its place in the walk's line is then
        # passed over (nothing is pending for it when that entry comes up).
        self._pending[key] = trigger
        self._queue.put_nowait((URGENT if urgent else PERIODIC, next(self._order), key))

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._walk(), name="resync walk")]
        self._tasks += [asyncio.create_task(self._work(), name=f"resync worker {n}") for n in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _walk(self) -> None:
        await asyncio.sleep(self._initial_delay)
        while True:
            for key in list(self._keys()):
                self.nudge(key, RESYNC)
            await asyncio.sleep(self._interval)

    async def _work(self) -> None:
        while True:
            _, _, key = await self._queue.get()
            trigger = self._pending.pop(key, None)
            if trigger is None:
                continue  # queued again ahead, and taken then
            if key in self._active:
                self._again[key] = trigger
                continue
            self._active.add(key)
            try:
                await self._reconcile(key, trigger)
            except Exception:
                # The next walk tries again; a pass must never stop the queue.
                logger.exception("resync of %s %s/%s failed", *key)
            finally:
                self._active.discard(key)
            if key in self._again:
                self.nudge(key, self._again.pop(key))
