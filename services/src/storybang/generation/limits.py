"""How long a job may run: as long as it makes progress, up to what the work asked for allows.

A fixed wall-clock limit either kills a long story that is streaming along (on a slow CPU, a first
story of the bundled model) or waits far too long for a stuck one. So a job has two limits:

- a **stall limit** (``timeout_seconds``): no progress for that long, and the job is stuck. Every
  streamed token, translated paragraph or finished step counts as progress (:func:`alive`);
- a **ceiling** that follows the work asked for: the stall limit plus the tokens the job may write
  at the slowest speed that still counts as working (:data:`MIN_TOKENS_PER_SECOND`).

The job's lease (:mod:`storybang.generation.jobs`) is renewed while it runs, so that the sweeper
(:mod:`storybang.generation.sweeper`) takes over only jobs whose worker is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from storybang.settings import GenerationSettings

# A model slower than this is not writing a story, it is failing to: 2 tokens/s is a few words a
# second, far below any backend we run (the bundled model does 15+ on two busy cores).
MIN_TOKENS_PER_SECOND = 2

_alive: ContextVar[Callable[[], None] | None] = ContextVar("storybang_job_alive", default=None)


def ceiling_seconds(settings: GenerationSettings) -> float:
    """The longest any job may run, however steadily it progresses."""
    return settings.timeout_seconds + settings.max_tokens / MIN_TOKENS_PER_SECOND


def alive() -> None:
    """Say that the job running in this task made progress: its stall limit starts again."""
    touch = _alive.get()
    if touch is not None:
        touch()


@asynccontextmanager
async def running(settings: GenerationSettings) -> AsyncIterator[None]:
    """Run the block under the stall limit and the ceiling; raises ``TimeoutError`` past either."""
    loop = asyncio.get_running_loop()
    end = loop.time() + ceiling_seconds(settings)
    stall = settings.timeout_seconds

    async with asyncio.timeout_at(min(end, loop.time() + stall)) as limit:

        def touch() -> None:
            limit.reschedule(min(end, loop.time() + stall))

        token = _alive.set(touch)
        try:
            yield
        finally:
            _alive.reset(token)
