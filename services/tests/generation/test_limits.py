"""A job runs as long as it makes progress, up to what its work allows; a stuck one ends soon."""

from __future__ import annotations

import asyncio
import time

import pytest

from storybang.generation import limits
from storybang.settings import GenerationSettings


def settings(stall: float, max_tokens: int) -> GenerationSettings:
    # Below the settings' own minimums, so that the test takes a second, not minutes.
    return GenerationSettings.model_construct(timeout_seconds=stall, max_tokens=max_tokens)


async def progressing(every: float, for_seconds: float) -> None:
    end = time.monotonic() + for_seconds
    while time.monotonic() < end:
        await asyncio.sleep(every)
        limits.alive()


async def test_a_job_that_keeps_progressing_outlives_the_stall_limit() -> None:
    started = time.monotonic()
    async with limits.running(settings(stall=0.2, max_tokens=100)):
        await progressing(every=0.05, for_seconds=0.8)
    assert time.monotonic() - started >= 0.8


async def test_a_job_without_progress_ends_at_the_stall_limit() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with limits.running(settings(stall=0.2, max_tokens=100)):
            await asyncio.sleep(5)
    assert 0.15 < time.monotonic() - started < 1


async def test_progress_does_not_pass_the_ceiling_its_work_allows() -> None:
    tight = settings(stall=0.2, max_tokens=1)  # ceiling: 0.2 s + 1 token at the slowest speed
    assert limits.ceiling_seconds(tight) == pytest.approx(0.2 + 1 / limits.MIN_TOKENS_PER_SECOND)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with limits.running(tight):
            await progressing(every=0.05, for_seconds=10)
    assert limits.ceiling_seconds(tight) - 0.1 < time.monotonic() - started < 2


async def test_alive_outside_a_job_does_nothing() -> None:
    limits.alive()  # no job runs in this task: nothing to extend, nothing raised


async def waiting_its_turn(every: float, for_seconds: float) -> None:
    end = time.monotonic() + for_seconds
    while time.monotonic() < end:
        await asyncio.sleep(every)
        limits.queued(every)


async def waiting_then_working(waiting: float, working: float) -> None:
    await waiting_its_turn(every=0.05, for_seconds=waiting)
    await progressing(every=0.05, for_seconds=working)


async def test_a_job_waiting_its_turn_outlives_the_stall_limit_and_its_ceiling() -> None:
    tight = settings(stall=0.2, max_tokens=1)  # ceiling: 0.7 s of its own work
    started = time.monotonic()
    async with limits.running(tight):
        await waiting_then_working(1.2, 0.3)  # behind other jobs past the ceiling, then its own work within it
    assert time.monotonic() - started >= 1.5


async def test_a_job_that_waited_still_ends_at_its_own_ceiling() -> None:
    tight = settings(stall=0.2, max_tokens=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with limits.running(tight):
            await waiting_then_working(0.5, 10)
    waited_and_worked = time.monotonic() - started
    assert 0.5 + limits.ceiling_seconds(tight) - 0.15 < waited_and_worked < 0.5 + limits.ceiling_seconds(tight) + 1


async def test_queued_outside_a_job_does_nothing() -> None:
    limits.queued(1.0)
