"""Every job ends: jobs whose message was lost, or whose worker died, are sent again and run;
one lost too often fails with the reason. On real Redis and the real stores, with a real worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import dramatiq

from storybang import queue
from storybang.generation import jobs, sweeper
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from tests.conftest import open_embedded
from tests.generation.conftest import running_worker, settings_with

APERTIUM = {"name": "apertium", "kind": "apertium"}
LONG_AGO = "2000-01-01T00:00:00.000+00:00"


async def finished(runtime: Runtime, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            job = await jobs.get(runtime.documents, job_id)
            assert job is not None
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.1)


async def lost_job(runtime: Runtime, **state: Any) -> dict[str, Any]:
    """A translate job whose message is gone: recorded, never enqueued."""
    job = await jobs.create(
        runtime.documents, ids.new_id(), "translate", {"text": "Hello.", "target_language": "es"}, None
    )
    changed = await runtime.documents.update(jobs.COLLECTION, job["id"], {"updated_at": LONG_AGO, **state})
    assert changed is not None
    return changed


def broker_of(settings: Settings) -> dramatiq.Broker:
    return queue.make_broker(settings)


async def test_a_queued_job_whose_message_was_lost_is_sent_again_and_runs(
    real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    job = await lost_job(runtime)
    await sweeper.sweep(runtime, broker_of(settings), ["translate"], grace=60)
    assert (await jobs.get(runtime.documents, job["id"]) or {}).get("resent") == 1
    with running_worker(settings, ["translate"]):
        done = await finished(runtime, job["id"])
    assert done["status"] == "succeeded" and "hola" in done["result"]["text"].lower()


async def test_a_job_queued_a_moment_ago_is_left_alone(
    real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    job = await jobs.create(runtime.documents, ids.new_id(), "translate", {"text": "Hi."}, None)
    await sweeper.sweep(runtime, broker_of(settings), ["translate"], grace=60)
    assert (await jobs.get(runtime.documents, job["id"]) or {}).get("resent") is None


async def test_a_running_job_whose_worker_died_is_taken_over(
    real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    job = await lost_job(runtime, status="running", attempt=1, lease_until=LONG_AGO)
    await sweeper.sweep(runtime, broker_of(settings), ["translate"], grace=60)
    with running_worker(settings, ["translate"]):
        done = await finished(runtime, job["id"])
    assert (done["status"], done["attempt"]) == ("succeeded", 2)


async def test_a_job_lost_too_often_fails_with_the_reason(
    real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    job = await lost_job(runtime, resent=sweeper.MAX_RESENDS)
    await sweeper.sweep(runtime, broker_of(settings), ["translate"], grace=60)
    failed = await jobs.get(runtime.documents, job["id"])
    assert failed is not None and failed["status"] == "failed" and "lost" in failed["error"]
    replay = await runtime.events.replay(job["owner_id"], "0-0")
    assert [e.name for e in replay.events] == ["generation.failed"]


async def test_the_embedded_default_runs_the_jobs_a_restart_left_behind(tmp_path: Path) -> None:
    # `storybang dev` keeps its queue in memory: after a restart, the jobs it held are only in the
    # store. The workers' first sweep at start sends them again.
    before = await open_embedded(tmp_path)
    try:
        queued = await lost_job(before)
        running = await lost_job(before, status="running", attempt=1, lease_until=LONG_AGO)
    finally:
        await before.close()
    after = await open_embedded(tmp_path)
    try:
        with running_worker(after.settings, ["translate"]):
            done = [await finished(after, job["id"]) for job in (queued, running)]
    finally:
        await after.close()
    assert [j["status"] for j in done] == ["succeeded", "succeeded"]
