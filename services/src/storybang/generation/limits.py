"""How long a job may run: as long as it makes progress, up to what the work asked for allows.

A fixed wall-clock limit either kills a long story that is streaming along (on a slow CPU, a first
story of the bundled model) or waits far too long for a stuck one. So a job has two limits:

- a **stall limit** (``timeout_seconds``): no progress for that long, and the job is stuck. Every
  streamed token, translated paragraph or finished step counts as progress (:func:`alive`);
- a **ceiling** that follows the work asked for: the stall limit plus the tokens the job may write
  at the slowest speed that still counts as working (:data:`MIN_TOKENS_PER_SECOND`), plus the time
  it waited its turn (:func:`queued`).

Waiting for a model that is busy with other jobs is neither progress nor being stuck: an in-process
model writes one story at a time, and a job behind three others may wait minutes for its first
token while the model streams theirs. :func:`queued` says so; the stall limit starts again and the
ceiling moves by the time waited, so only the job's own work counts against it.

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
_queued: ContextVar[Callable[[float], None] | None] = ContextVar("storybang_job_queued", default=None)


def ceiling_seconds(settings: GenerationSettings) -> float:
    """The longest any job may run, however steadily it progresses."""
    return settings.timeout_seconds + settings.max_tokens / MIN_TOKENS_PER_SECOND


def alive() -> None:
    """Say that the job running in this task made progress: its stall limit starts again."""
    touch = _alive.get()
    if touch is not None:
        touch()


def queued(seconds: float) -> None:
    """Say that the job running in this task waited ``seconds`` more for a model busy with other
    jobs: its stall limit starts again and its ceiling moves by ``seconds``."""
    wait = _queued.get()
    if wait is not None:
        wait(seconds)


@asynccontextmanager
async def running(settings: GenerationSettings) -> AsyncIterator[None]:
    """Run the block under the stall limit and the ceiling; raises ``TimeoutError`` past either."""
    loop = asyncio.get_running_loop()
    end = loop.time() + ceiling_seconds(settings)
    stall = settings.timeout_seconds

    async with asyncio.timeout_at(min(end, loop.time() + stall)) as limit:

        def touch() -> None:
            limit.reschedule(min(end, loop.time() + stall))

        def wait(seconds: float) -> None:
            nonlocal end
            end += seconds
            touch()

        tokens = _alive.set(touch), _queued.set(wait)
        try:
            yield
        finally:
            _alive.reset(tokens[0])
            _queued.reset(tokens[1])
