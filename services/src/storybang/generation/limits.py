"""How long a job may run: as long as it makes progress, up to what the work asked for allows.

A fixed wall-clock limit either kills a long story that is streaming along (on a slow CPU, a first
story of the bundled model) or waits far too long for a stuck one. So a job has two limits:

- a **stall limit** (``timeout_seconds``): no progress for that long, and the job is stuck. Every
  streamed token, translated paragraph or finished step counts as progress (:func:`alive`);
- a **ceiling** that follows the work asked for: the stall limit plus the tokens the job asks a
  backend for (:func:`asking`: its story's length, not the most any job may ask) at a pace well
  below what that backend was measured to do (:class:`Pace`), never slower than the slowest speed
  that still counts as working (:data:`MIN_TOKENS_PER_SECOND`), plus the time it waited its turn
  (:func:`queued`). Until a job says what it asks, its ceiling is the largest any job may have.

A job streaming tokens is never ended by the stall limit, which is meant for a stuck one; the
ceiling catches one that trickles on far below its backend's pace, so that it is retried instead.

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
# How much slower than its backend's measured pace a job may write and still be working: a longer
# prompt, a machine or a server that got busier since. Slower than that, it is cut at its ceiling
# and retried rather than left to trickle (the stall limit in the ceiling leaves more room still).
SLOWDOWN = 4

_alive: ContextVar[Callable[[], None] | None] = ContextVar("storybang_job_alive", default=None)
_queued: ContextVar[Callable[[float], None] | None] = ContextVar("storybang_job_queued", default=None)
_asking: ContextVar[Callable[[float], None] | None] = ContextVar("storybang_job_asking", default=None)


class TimedOut(TimeoutError):
    """The job ran past one of its limits; the message says which, for the job's error."""


def work_seconds(tokens: int, tokens_per_second: float | None = None) -> float:
    """How long writing ``tokens`` may take, at a backend's measured ``tokens_per_second`` (None:
    not measured yet) slowed down by :data:`SLOWDOWN`, and never at less than the slowest speed
    that still counts as working."""
    measured = tokens_per_second / SLOWDOWN if tokens_per_second else 0.0
    return tokens / max(MIN_TOKENS_PER_SECOND, measured)


def ceiling_seconds(settings: GenerationSettings) -> float:
    """The longest any job's own work may take, however steadily it progresses: the most tokens a
    job may ask for, at the slowest speed that still counts as working."""
    return settings.timeout_seconds + work_seconds(settings.max_tokens)


def backstop_seconds(settings: GenerationSettings, concurrency: int) -> float:
    """Longer than any job's limits allow: its own largest ceiling, plus its turns waited behind the
    other jobs of its worker (``concurrency`` at once, each within its own ceiling), plus the longest
    a backend starting from zero may keep it waiting (``cold_start_seconds``)."""
    cold_start = max((b.cold_start_seconds for b in settings.backends), default=0)
    return concurrency * ceiling_seconds(settings) + cold_start


class Pace:
    """Each backend's speed in tokens/s, a moving estimate over the streams it finished in this
    process (one per task's chain: a worker's jobs of one task share it)."""

    # The newest stream's weight: after a few stories, the estimate follows a machine that got busier.
    WEIGHT = 0.3
    # A shorter answer is mostly the time to its first token: it says little about the speed.
    MIN_TOKENS = 16

    def __init__(self) -> None:
        self._speeds: dict[str, float] = {}

    def of(self, backend: str) -> float | None:
        """The backend's estimated tokens/s; None until a stream of it has finished here."""
        return self._speeds.get(backend)

    def record(self, backend: str, tokens: int, seconds: float) -> None:
        """A stream of ``backend`` wrote ``tokens`` in ``seconds`` from its first token to its last."""
        if tokens < self.MIN_TOKENS or seconds <= 0:
            return
        speed = tokens / seconds
        before = self._speeds.get(backend)
        self._speeds[backend] = speed if before is None else before + self.WEIGHT * (speed - before)


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


def asking(tokens: int, tokens_per_second: float | None = None) -> None:
    """Say that the job running in this task now asks a backend for up to ``tokens`` tokens, at its
    measured ``tokens_per_second`` (None: not measured yet): its ceiling becomes the stall limit (for
    the first token) plus :func:`work_seconds` from now, within the largest any job may have. Said
    again for the next backend, when one falls through to it."""
    ask = _asking.get()
    if ask is not None:
        ask(work_seconds(tokens, tokens_per_second))


@asynccontextmanager
async def running(settings: GenerationSettings) -> AsyncIterator[None]:
    """Run the block under the stall limit and the ceiling; raises :class:`TimedOut` past either."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    largest = ceiling_seconds(settings)
    end, waited = started + largest, 0.0
    stall = settings.timeout_seconds

    try:
        async with asyncio.timeout_at(min(end, loop.time() + stall)) as limit:

            def touch() -> None:
                limit.reschedule(min(end, loop.time() + stall))

            def wait(seconds: float) -> None:
                nonlocal end, waited
                end += seconds
                waited += seconds
                touch()

            def ask(seconds: float) -> None:
                nonlocal end
                end = min(loop.time() + stall + seconds, started + waited + largest)
                touch()

            tokens = _alive.set(touch), _queued.set(wait), _asking.set(ask)
            try:
                yield
            finally:
                _alive.reset(tokens[0])
                _queued.reset(tokens[1])
                _asking.reset(tokens[2])
    except TimeoutError as e:
        if not limit.expired():
            raise  # not one of ours: whatever timed out inside says so itself
        if (limit.when() or 0) >= end:
            raise TimedOut(f"ran past the {end - started - waited:.0f} s its work allows") from e
        raise TimedOut(f"made no progress for {stall} s") from e
