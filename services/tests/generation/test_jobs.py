"""The job state machine: every transition a compare-and-set, fenced by the attempt."""

from __future__ import annotations

import asyncio

import pytest

from storybang.generation import jobs
from storybang.runtime import Runtime

LEASE = 60.0


async def test_a_job_runs_once_and_a_late_message_is_skipped(runtime: Runtime) -> None:
    store = runtime.documents
    job = await jobs.create(store, "a" * 24, "translate", {"text": "hi"}, None)
    running = await jobs.start(store, job["id"], lease_seconds=LEASE)
    assert running is not None and running["status"] == "running" and running["attempt"] == 1
    assert await jobs.succeed(store, running, {"text": "hola"}, "apertium") is not None
    assert await jobs.start(store, job["id"], lease_seconds=LEASE) is None  # a redelivered message finds it finished


async def test_a_job_left_running_is_taken_over_and_the_old_attempt_is_fenced_off(runtime: Runtime) -> None:
    store = runtime.documents
    job = await jobs.create(store, "a" * 24, "story", {"prompt": "x"}, None)
    first = await jobs.start(store, job["id"], lease_seconds=LEASE)
    assert first is not None
    with pytest.raises(jobs.Held):  # its worker holds a live lease: a message now is a duplicate
        await jobs.start(store, job["id"], lease_seconds=LEASE)
    # The first worker died and its lease ran out; its message came back.
    await store.update(jobs.COLLECTION, job["id"], {"lease_until": "2000-01-01T00:00:00.000+00:00"})
    second = await jobs.start(store, job["id"], lease_seconds=LEASE)
    assert second is not None and second["attempt"] == 2
    assert await jobs.succeed(store, first, {"title": "old"}, "b") is None
    assert await jobs.progress(store, first, 0.5) is False
    done = await jobs.succeed(store, second, {"title": "new"}, "b")
    assert done is not None and done["result"] == {"title": "new"}


async def test_concurrent_starts_claim_a_job_once(runtime: Runtime) -> None:
    store = runtime.documents
    job = await jobs.create(store, "a" * 24, "story", {"prompt": "x"}, None)
    claims = await asyncio.gather(
        *(jobs.start(store, job["id"], lease_seconds=LEASE) for _ in range(10)), return_exceptions=True
    )
    assert all(c is None or isinstance(c, dict | jobs.Held) for c in claims), claims
    attempts = sorted(c["attempt"] for c in claims if isinstance(c, dict))
    # Each successful claim has its own attempt number: two workers never hold the same attempt.
    assert len(attempts) == len(set(attempts)) >= 1


async def test_cancelled_jobs_are_not_started_or_finished(runtime: Runtime) -> None:
    store = runtime.documents
    owner = "b" * 24
    job = await jobs.create(store, owner, "story", {"prompt": "x"}, None)
    running = await jobs.start(store, job["id"], lease_seconds=LEASE)
    assert running is not None
    cancelled = await jobs.cancel(store, owner, job["id"])
    assert cancelled is not None and cancelled["status"] == "cancelled"
    assert await jobs.succeed(store, running, {"title": "t"}, "b") is None
    assert await jobs.start(store, job["id"], lease_seconds=LEASE) is None
    assert await jobs.cancel(store, "c" * 24, job["id"]) is None  # another owner's job: not found
