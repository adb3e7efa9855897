"""The generations API: validation naming the field, ownership, limits and quotas, cancelling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from storybang import events, queue
from storybang.errors import TooManyRequests
from storybang.generation import jobs, quotas, service
from storybang.generation.models import TranslateJobCreate
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from tests.conftest import SignUp, app_for, client_for
from tests.generation.conftest import settings_with


async def test_a_job_is_queued_and_readable_by_its_owner_only(client: httpx.AsyncClient, signup: SignUp) -> None:
    owner, other = await signup(), await signup()
    r = await client.post(
        "/api/v1/generations",
        headers=owner.headers,
        json={"task": "translate", "input": {"text": "Hello", "target_language": "es"}},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["task"] == "translate"
    assert (await client.get(f"/api/v1/generations/{job['id']}", headers=owner.headers)).status_code == 200
    assert (await client.get(f"/api/v1/generations/{job['id']}", headers=other.headers)).status_code == 404
    assert (await client.delete(f"/api/v1/generations/{job['id']}", headers=other.headers)).status_code == 404
    listed = (await client.get("/api/v1/generations", headers=other.headers)).json()["items"]
    assert job["id"] not in [j["id"] for j in listed]


async def test_invalid_input_names_the_field(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    cases = [
        ({"task": "story", "input": {"prompt": "", "audience": "children"}}, "input.prompt"),
        ({"task": "story", "input": {"prompt": "x", "audience": "toddlers"}}, "input.audience"),
        ({"task": "translate", "input": {"text": "x"}}, "input.target_language"),
        ({"task": "story", "input": {"prompt": "x", "character_ids": ["0" * 24]}}, "input.character_ids"),
        ({"task": "describe", "input": {"character_id": "1" * 24}}, "input.character_id"),
        ({"task": "dance", "input": {}}, "task"),
    ]
    for body, field in cases:
        r = await client.post("/api/v1/generations", headers=account.headers, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, r.text


async def test_someone_elses_character_cannot_be_used(client: httpx.AsyncClient, signup: SignUp) -> None:
    owner, other = await signup(), await signup()
    character = (await client.post("/api/v1/characters", headers=owner.headers, json={"name": "Pip"})).json()
    r = await client.post(
        "/api/v1/generations",
        headers=other.headers,
        json={"task": "story", "input": {"prompt": "a walk", "character_ids": [character["id"]]}},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "input.character_ids"


async def test_cancel_a_queued_job(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    body = {"task": "translate", "input": {"text": "Hello", "target_language": "es"}}
    job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
    r = await client.delete(f"/api/v1/generations/{job['id']}", headers=account.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


async def test_too_many_jobs_at_once_is_429(real_settings: Settings, tmp_path: Path, signup: SignUp) -> None:
    account = await signup()
    runtime = await Runtime.open(settings_with(real_settings, tmp_path, generation={"max_active_jobs": 2}))
    try:
        async with client_for(app_for(runtime)) as client:
            body = {"task": "translate", "input": {"text": "Hello", "target_language": "es"}}
            codes = [(await client.post("/api/v1/generations", headers=account.headers, json=body)) for _ in range(3)]
            assert [r.status_code for r in codes] == [202, 202, 429]
            assert int(codes[-1].headers["Retry-After"]) >= 1
            usage = (await client.get("/api/v1/users/me/usage", headers=account.headers)).json()
            assert usage["active_jobs"] == 2 and usage["active_jobs_limit"] == 2
    finally:
        await runtime.close()


async def test_submissions_at_once_cannot_take_more_places_than_there_are(
    real_settings: Settings, tmp_path: Path, signup: SignUp
) -> None:
    account = await signup()
    runtime = await Runtime.open(settings_with(real_settings, tmp_path, generation={"max_active_jobs": 2}))
    request = TranslateJobCreate(task="translate", input={"text": "Hello", "target_language": "es"})
    try:
        outcomes = await asyncio.gather(
            *(service.create(runtime, account.id, request) for _ in range(6)), return_exceptions=True
        )
        assert sum(not isinstance(o, BaseException) for o in outcomes) == 2
        assert all(isinstance(o, TooManyRequests) for o in outcomes if isinstance(o, BaseException))
        assert len(await runtime.counters.members(quotas.active_key(account.id))) == 2
    finally:
        await runtime.close()


async def test_a_job_whose_end_the_counters_missed_does_not_hold_its_place(
    real_settings: Settings, tmp_path: Path, signup: SignUp
) -> None:
    account = await signup()
    runtime = await Runtime.open(settings_with(real_settings, tmp_path, generation={"max_active_jobs": 1}))
    request = TranslateJobCreate(task="translate", input={"text": "Hello", "target_language": "es"})
    try:
        first = (await service.create(runtime, account.id, request)).root
        with pytest.raises(TooManyRequests):
            await service.create(runtime, account.id, request)
        # Ended in the store, but nothing told the counters (a worker killed between the two).
        running = await jobs.start(runtime.documents, first.id, lease_seconds=60)
        assert running is not None and await jobs.succeed(runtime.documents, running, {"text": "Hola"}, "x")
        second = (await service.create(runtime, account.id, request)).root
        assert list(await runtime.counters.members(quotas.active_key(account.id))) == [second.id]
        # A cancelled job gives its place back at once.
        await service.cancel(runtime, account.id, second.id)
        assert await runtime.counters.members(quotas.active_key(account.id)) == {}
    finally:
        await runtime.close()


async def test_ending_one_of_two_jobs_in_flight_frees_its_place_only(signup: SignUp, runtime: Runtime) -> None:
    account = await signup()
    request = TranslateJobCreate(task="translate", input={"text": "Hello", "target_language": "es"})
    first = (await service.create(runtime, account.id, request)).root
    second = (await service.create(runtime, account.id, request)).root
    await service.cancel(runtime, account.id, first.id)
    assert list(await runtime.counters.members(quotas.active_key(account.id))) == [second.id]


async def test_daily_token_quota_is_429_until_midnight(real_settings: Settings, tmp_path: Path, signup: SignUp) -> None:
    account = await signup()
    runtime = await Runtime.open(settings_with(real_settings, tmp_path, generation={"daily_tokens": 100}))
    try:
        await runtime.counters.add(quotas.tokens_key(account.id), 100)
        async with client_for(app_for(runtime)) as client:
            body = {"task": "story", "input": {"prompt": "a walk"}}
            r = await client.post("/api/v1/generations", headers=account.headers, json=body)
            assert r.status_code == 429
            assert 1 <= int(r.headers["Retry-After"]) <= 86400
            usage = (await client.get("/api/v1/users/me/usage", headers=account.headers)).json()
            assert usage["tokens"] == 100 and usage["tokens_limit"] == 100
    finally:
        await runtime.close()


async def test_an_unknown_backend_is_422_naming_the_field_where_the_backends_are_known(
    signup: SignUp, real_settings: Settings, tmp_path: Path
) -> None:
    backends = [{"name": "apertium", "kind": "apertium"}, {"name": "gpu", "base_url": "http://127.0.0.1:9/v1"}]
    runtime = await Runtime.open(settings_with(real_settings, tmp_path, generation={"backends": backends}))
    try:
        async with client_for(app_for(runtime)) as client:
            account = await signup()
            body = {"task": "translate", "input": {"text": "Hello", "target_language": "es"}}
            r = await client.post("/api/v1/generations", headers=account.headers, json={**body, "backend": "nope"})
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["field"] == "backend"
            assert "apertium, gpu" in r.json()["detail"]
            r = await client.post("/api/v1/generations", headers=account.headers, json={**body, "backend": "gpu"})
            assert r.status_code == 202, r.text
    finally:
        await runtime.close()


async def test_active_jobs_are_counted_once_each(signup: SignUp, runtime: Runtime) -> None:
    account = await signup()
    for status in ("queued", "running", "succeeded", "failed"):
        job = await jobs.create(runtime.documents, account.id, "translate", {"text": "x"}, None)
        await runtime.documents.update(jobs.COLLECTION, job["id"], {"status": status})
    assert (await quotas.usage(runtime, account.id)).active_jobs == 2


async def test_queued_is_announced_before_a_worker_can_take_the_job(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker may start a job the moment its message is sent: what its owner has heard by then is
    # read from the real event stream as the message goes out.
    owner = ids.new_id()
    assert runtime.settings.redis.url is not None
    stream = Redis.from_url(runtime.settings.redis.url.get_secret_value(), decode_responses=True)
    heard: list[list[str]] = []
    send = queue.enqueue

    def enqueue(broker: Any, task: str, job_id: str) -> None:
        heard.append([fields["name"] for _, fields in stream.xrange(events.STREAM_PREFIX + owner)])
        send(broker, task, job_id)

    monkeypatch.setattr(queue, "enqueue", enqueue)
    request = TranslateJobCreate.model_validate({"task": "translate", "input": {"text": "Hi", "target_language": "es"}})
    await service.create(runtime, owner, request)
    stream.close()
    assert heard == [["generation.queued"]]
