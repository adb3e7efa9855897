"""A job runs as long as it makes progress, up to what its work allows; a stuck one ends soon."""

from __future__ import annotations

import asyncio
import time

import pytest

from storybang.generation import limits
from storybang.settings import BackendSettings, GenerationSettings


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


def test_work_takes_the_tokens_asked_at_a_quarter_of_the_measured_pace() -> None:
    assert limits.work_seconds(400, 40.0) == pytest.approx(400 / (40.0 / limits.SLOWDOWN))


def test_work_not_measured_yet_may_go_at_the_slowest_speed_that_counts() -> None:
    assert limits.work_seconds(400) == pytest.approx(400 / limits.MIN_TOKENS_PER_SECOND)


def test_a_slow_backend_is_never_held_to_more_than_the_slowest_speed_that_counts() -> None:
    assert limits.work_seconds(400, 3.0) == pytest.approx(400 / limits.MIN_TOKENS_PER_SECOND)


def test_the_largest_ceiling_is_the_most_tokens_at_the_slowest_speed() -> None:
    largest = settings(stall=120, max_tokens=1024)
    assert limits.ceiling_seconds(largest) == pytest.approx(120 + 1024 / limits.MIN_TOKENS_PER_SECOND)


def test_the_backstop_covers_a_job_waiting_behind_every_other_job_of_its_worker() -> None:
    largest = settings(stall=120, max_tokens=1024)
    assert limits.backstop_seconds(largest, 3) == pytest.approx(3 * limits.ceiling_seconds(largest))


def test_the_backstop_covers_the_longest_cold_start_of_a_backend_starting_from_zero() -> None:
    largest = settings(stall=120, max_tokens=1024)
    backends = [
        BackendSettings(name="gpu", kind="openai", base_url="http://gpu/v1", model="m", cold_start_seconds=600),
        BackendSettings(name="cpu", kind="openai", base_url="http://cpu/v1", model="m", cold_start_seconds=90),
    ]
    cold = GenerationSettings.model_construct(timeout_seconds=120, max_tokens=1024, backends=backends)
    assert limits.backstop_seconds(cold, 2) == pytest.approx(2 * limits.ceiling_seconds(largest) + 600)


def test_a_backends_pace_is_its_first_stream_then_moves_towards_each_next_one() -> None:
    pace = limits.Pace()
    assert pace.of("local") is None
    pace.record("local", 400, 10.0)
    assert pace.of("local") == pytest.approx(40.0)
    pace.record("local", 200, 10.0)
    assert pace.of("local") == pytest.approx(40.0 + limits.Pace.WEIGHT * (20.0 - 40.0))
    assert pace.of("remote") is None


def test_a_stream_too_short_to_tell_does_not_move_the_pace() -> None:
    pace = limits.Pace()
    pace.record("local", limits.Pace.MIN_TOKENS - 1, 0.01)
    assert pace.of("local") is None


async def asking_then_progressing(
    tokens: int, tokens_per_second: float | None, every: float, for_seconds: float
) -> None:
    limits.asking(tokens, tokens_per_second)
    await progressing(every, for_seconds)


async def test_a_job_asking_few_tokens_of_a_fast_backend_ends_at_its_own_ceiling() -> None:
    roomy = settings(stall=0.2, max_tokens=1000)  # the largest ceiling: 500 s
    started = time.monotonic()
    with pytest.raises(limits.TimedOut, match="ran past the 1 s its work allows"):
        async with limits.running(roomy):
            await asking_then_progressing(10, 40.0, every=0.05, for_seconds=10)  # 10 tokens at 10/s: 0.2 + 1 s
    assert 1.1 < time.monotonic() - started < 4  # far from the largest, even on a busy CPU


async def test_a_job_streaming_slowly_is_not_ended_by_the_stall_limit_nor_by_a_ceiling_it_keeps_within() -> None:
    roomy = settings(stall=0.2, max_tokens=1000)
    started = time.monotonic()
    async with limits.running(roomy):  # 1.2 s allowed; a token every 0.15 s: never 0.2 s without one
        await asking_then_progressing(10, 40.0, every=0.15, for_seconds=1.0)
    assert time.monotonic() - started >= 1.0


async def test_a_job_falling_through_to_a_slower_backend_gets_that_backends_ceiling() -> None:
    roomy = settings(stall=0.2, max_tokens=1000)
    started = time.monotonic()
    async with limits.running(roomy):
        limits.asking(10, tokens_per_second=400.0)  # the first backend: 0.2 + 0.1 s
        limits.asking(10, tokens_per_second=40.0)  # it fell through at once; the next: 0.2 + 1 s
        await progressing(every=0.05, for_seconds=0.8)
    assert time.monotonic() - started >= 0.8


async def test_asking_never_lifts_a_ceiling_above_the_largest() -> None:
    tight = settings(stall=0.2, max_tokens=1)  # the largest ceiling: 0.7 s
    started = time.monotonic()
    with pytest.raises(limits.TimedOut, match="its work allows"):
        async with limits.running(tight):  # asking more than any job may: 500 s at the slowest speed
            await asking_then_progressing(1000, None, every=0.05, for_seconds=10)
    assert time.monotonic() - started < 4  # not the 500 s asked for


async def asking_then_stuck(tokens: int, tokens_per_second: float) -> None:
    limits.asking(tokens, tokens_per_second)
    await asyncio.sleep(5)


async def test_a_stuck_job_says_it_made_no_progress() -> None:
    with pytest.raises(limits.TimedOut, match=r"made no progress for 0\.2 s"):
        async with limits.running(settings(stall=0.2, max_tokens=100)):
            await asking_then_stuck(10, 40.0)


async def timing_out_on_its_own() -> None:
    async with asyncio.timeout(0.05):
        await asyncio.sleep(1)


async def test_a_timeout_inside_the_job_is_its_own_not_a_limit() -> None:
    with pytest.raises(TimeoutError) as raised:
        async with limits.running(settings(stall=5, max_tokens=100)):
            await timing_out_on_its_own()
    assert not isinstance(raised.value, limits.TimedOut)


async def test_asking_outside_a_job_does_nothing() -> None:
    limits.asking(100, 40.0)
