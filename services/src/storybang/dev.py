"""`storybang dev`: the whole of StoryBang in one process, on embedded stores.

The API of every domain, the Socket.IO notifier at ``/socket.io`` and Dramatiq workers for every
task share one in-process queue (Dramatiq's StubBroker) and one in-process event bus. The workers
run on their own event loop in Dramatiq's threads, so their events cross over to the server's loop
through :class:`LoopBridge`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.types import ASGIApp

from storybang import queue
from storybang.api.app import DOMAINS, create_app
from storybang.events import EventBus, InProcessEventBus, Replay
from storybang.generation import worker
from storybang.generation.models import TASKS
from storybang.notifier import app as notifier
from storybang.runtime import Runtime
from storybang.security import tokens
from storybang.settings import Settings
from storybang.stores.counters import MemoryCounters
from storybang.stores.revocations import MemoryRevocations


class LoopBridge:
    """An event bus that hands every call to a bus living on another event loop."""

    def __init__(self, inner: EventBus, loop: asyncio.AbstractEventLoop) -> None:
        self._inner, self._loop = inner, loop

    async def _call(self, coroutine: Any) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def publish(self, user_id: str, name: str, data: Mapping[str, Any]) -> str:
        return str(await self._call(self._inner.publish(user_id, name, data)))

    async def replay(self, user_id: str, after_id: str) -> Replay:
        result: Replay = await self._call(self._inner.replay(user_id, after_id))
        return result

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the server's bus is closed by the server


def build(settings: Settings) -> ASGIApp:
    bus = InProcessEventBus(max_len=settings.notifier.stream_max_len)
    revocations = MemoryRevocations(ttl_seconds=tokens.lifetime(settings.auth))
    # The API admits jobs and the workers end them: one set of counters for both.
    counters = MemoryCounters()
    broker = queue.make_broker(settings)

    async def open_runtime(s: Settings) -> Runtime:
        return await Runtime.open(s, broker=broker, bus=bus, revocations=revocations, counters=counters)

    @asynccontextmanager
    async def workers(_: Runtime) -> AsyncIterator[None]:
        bridge = LoopBridge(bus, asyncio.get_running_loop())
        running = await asyncio.to_thread(
            worker.start, settings, list(TASKS), broker=broker, bus=bridge, counters=counters
        )
        try:
            yield
        finally:
            await asyncio.to_thread(running.stop)

    api = create_app(settings, DOMAINS, open_runtime=open_runtime, background=workers)
    return notifier.embed(api, settings, bus, revocations)
