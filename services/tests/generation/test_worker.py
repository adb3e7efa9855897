"""Jobs through a real Dramatiq worker on real Redis, with real backends: Apertium for translation
(offline, from Debian), and an OpenAI-compatible address where nothing listens (a backend that is
down), to exercise fallback and retries."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client import REGISTRY

from storybang.generation import execution, jobs
from storybang.generation.backends.chain import Chain
from storybang.generation.tasks import Context
from storybang.runtime import Runtime
from storybang.settings import Settings
from tests.conftest import SignUp
from tests.generation.conftest import finished, running_worker, settings_with

DOWN = {"name": "down", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
APERTIUM = {"name": "apertium", "kind": "apertium"}


async def test_translation_falls_back_past_a_backend_that_is_down(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    account = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": [DOWN, APERTIUM]})
    succeeded = {"task": "translate", "outcome": "succeeded"}
    before = REGISTRY.get_sample_value("storybang_generation_jobs_total", succeeded) or 0
    with running_worker(settings, ["translate"]):
        body = {"task": "translate", "input": {"text": "The little fox is happy.", "target_language": "es"}}
        job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
        done = await finished(client, account, job["id"])
    assert done["status"] == "succeeded", done
    assert done["backend"] == "apertium"
    assert "zorro" in done["result"]["text"].lower()
    # (other tests' queued jobs may be run by this worker too)
    assert (REGISTRY.get_sample_value("storybang_generation_jobs_total", succeeded) or 0) >= before + 1
    replay = await runtime.events.replay(account.id, "0-0")
    names = [e.name for e in replay.events if e.data.get("id") == job["id"]]
    assert names == ["generation.queued", "generation.started", "generation.completed"]


async def test_a_whole_story_is_translated_and_kept(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path
) -> None:
    account = await signup()
    story = (
        await client.post(
            "/api/v1/stories",
            headers=account.headers,
            json={
                "title": "The brave fox",
                "audience": "children",
                "character_ids": [],
                "paragraphs": [{"text": "The fox walked to the river."}, {"text": "She drank cold water."}],
            },
        )
    ).json()
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    with running_worker(settings, ["translate"]):
        body = {"task": "translate", "input": {"story_id": story["id"], "target_language": "es"}}
        job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
        done = await finished(client, account, job["id"])
    assert done["status"] == "succeeded", done
    kept = (await client.get(f"/api/v1/stories/{story['id']}", headers=account.headers)).json()
    spanish = kept["translations"]["es"]
    assert "zorro" in spanish["title"].lower()
    assert len(spanish["paragraphs"]) == 2 and "río" in spanish["paragraphs"][0]["text"].lower()


async def test_backends_down_are_retried_then_the_job_fails_with_the_reason(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path
) -> None:
    account = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": [DOWN], "max_retries": 1})
    with running_worker(settings, ["translate"]):
        body = {"task": "translate", "input": {"text": "Hello", "target_language": "es"}}
        job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
        done = await finished(client, account, job["id"])
    assert done["status"] == "failed"
    assert "every backend failed" in done["error"] and "down" in done["error"]


async def test_a_repeated_message_does_not_apply_a_result_twice(
    signup: SignUp, real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    account = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    ctx = Context(runtime, Chain.for_task("translate", settings.generation))
    job = await jobs.create(
        runtime.documents, account.id, "translate", {"text": "Hello", "target_language": "es"}, None
    )
    assert await execution.execute(ctx, job["id"], retries=0) == "succeeded"
    assert await execution.execute(ctx, job["id"], retries=0) == "skipped"
    replay = await runtime.events.replay(account.id, "0-0")
    assert [e.name for e in replay.events if e.data.get("id") == job["id"]].count("generation.completed") == 1


async def test_a_cancelled_job_is_not_run(
    signup: SignUp, real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    account = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    ctx = Context(runtime, Chain.for_task("translate", settings.generation))
    job = await jobs.create(
        runtime.documents, account.id, "translate", {"text": "Hello", "target_language": "es"}, None
    )
    await jobs.cancel(runtime.documents, account.id, job["id"])
    assert await execution.execute(ctx, job["id"], retries=0) == "skipped"
    assert (await jobs.get(runtime.documents, job["id"]) or {})["status"] == "cancelled"


async def test_a_task_without_a_backend_fails_at_once(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path
) -> None:
    account = await signup()
    character = (await client.post("/api/v1/characters", headers=account.headers, json={"name": "Pip"})).json()
    settings = settings_with(real_settings, tmp_path)  # no backends: "image" has no default
    with running_worker(settings, ["image"]):
        body = {"task": "image", "input": {"character_id": character["id"]}}
        job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
        done = await finished(client, account, job["id"])
    assert done["status"] == "failed" and "no backend" in done["error"]


async def test_a_job_naming_a_backend_the_worker_lacks_fails_at_once_with_the_reason(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path
) -> None:
    # The API (a process without the Generators' backend lists, like an API pod) lets the name pass;
    # the worker knows its backends and says which ones there are.
    account = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    with running_worker(settings, ["translate"]):
        body = {"task": "translate", "backend": "nope", "input": {"text": "Hello.", "target_language": "es"}}
        r = await client.post("/api/v1/generations", headers=account.headers, json=body)
        assert r.status_code == 202, r.text
        done = await finished(client, account, r.json()["id"])
    assert done["status"] == "failed", done
    assert "'nope'" in done["error"] and "apertium" in done["error"]


async def test_a_result_larger_than_an_event_completes_with_a_summary(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    account = await signup()
    text = "The little fox is happy in the green forest. " * 440  # 19.8 KB: its translation is over 16 KiB
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    with running_worker(settings, ["translate"]):
        body = {"task": "translate", "input": {"text": text, "target_language": "es"}}
        job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
        done = await finished(client, account, job["id"])
    assert done["status"] == "succeeded", done
    assert len(done["result"]["text"]) > 16 * 1024  # the whole result is fetched over the API
    replay = await runtime.events.replay(account.id, "0-0")
    (completed,) = [e for e in replay.events if e.name == "generation.completed" and e.data.get("id") == job["id"]]
    assert completed.data["backend"] == "apertium" and completed.data["summary"] == {}
