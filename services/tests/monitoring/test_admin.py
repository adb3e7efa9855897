"""What administrators see without a cluster login: failed jobs with their reasons and the backends
asked, a user's usage, and log lines that carry their request id or job id. Real MariaDB, FerretDB,
Redis and a real Dramatiq worker."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from storybang import logs
from storybang.generation import quotas
from storybang.runtime import Runtime
from storybang.settings import LogSettings, Settings
from storybang.stores import joblogs
from tests.conftest import SignUp
from tests.generation.conftest import finished, running_worker, settings_with
from tests.identity.test_admin import make_admin

# Two OpenAI-compatible addresses where nothing listens: both backends are down.
DOWN = [
    {"name": "down-a", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
    {"name": "down-b", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
]


REQUEST_ID = "edge-request-0123456789"


async def test_admins_see_failed_jobs_with_reason_and_backends_tried(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime, real_settings: Settings, tmp_path: Path
) -> None:
    user = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": DOWN, "max_retries": 0})
    body = {"task": "translate", "input": {"text": "The fox is happy.", "target_language": "es"}}
    capture = structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars])
    with capture as lines, running_worker(settings, ["translate"]):
        asked = user.headers | {"X-Request-ID": REQUEST_ID}
        job = (await client.post("/api/v1/generations", headers=asked, json=body)).json()
        done = await finished(client, user, job["id"])
    assert done["status"] == "failed"

    assert (await client.get("/api/v1/admin/generations/failed", headers=user.headers)).status_code == 403
    admin = await make_admin(runtime, client, signup)
    found: dict[str, Any] | None = None
    cursor = None
    while found is None:
        params = {"task": "translate", "limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/admin/generations/failed", headers=admin, params=params)).json()
        found = next((j for j in page["items"] if j["id"] == job["id"]), None)
        assert found is not None or page["next_cursor"], "the failed job is not listed"
        cursor = page["next_cursor"]
    assert found["owner_id"] == user.id
    assert found["backends_tried"] == ["down-a", "down-b"]
    assert "every backend failed" in (found["error"] or "")
    assert all(j["task"] == "translate" for j in page["items"])
    assert found["request_id"] == REQUEST_ID

    # Every line the worker wrote about this job carries its id, so `job_id=<id>` finds them all,
    # and the id of the request that queued it, so they come up with the API's lines about it.
    mine = [line for line in lines if line.get("job_id") == job["id"]]
    assert any(line["event"] == "job failed" for line in mine), lines
    assert all(line.get("task") == "translate" for line in mine)
    assert all(line.get("request_id") == REQUEST_ID for line in mine if line["event"] == "job failed")


@pytest.fixture
def kept_job_lines(real_settings: Settings) -> Iterator[joblogs.Shipper]:
    """This process's logging as a role's: every line with a job id also kept in the real Redis."""
    assert real_settings.redis.url is not None
    to = joblogs.destination(real_settings.redis.url.get_secret_value(), max_lines=200, ttl_seconds=3600)
    shipper = joblogs.Shipper(to, capacity=10_000).start()
    logs.configure(LogSettings(format="json"), job_lines=shipper.offer)
    yield shipper
    shipper.close()
    logs.configure(LogSettings(format="json"))
    logging.getLogger().handlers.clear()


async def test_admins_read_a_failed_jobs_log_lines_from_the_api_and_the_worker(
    client: httpx.AsyncClient,
    signup: SignUp,
    runtime: Runtime,
    real_settings: Settings,
    tmp_path: Path,
    kept_job_lines: joblogs.Shipper,
) -> None:
    user = await signup()
    settings = settings_with(real_settings, tmp_path, generation={"backends": DOWN, "max_retries": 0})
    body = {"task": "translate", "input": {"text": "The fox is happy.", "target_language": "es"}}
    with running_worker(settings, ["translate"]):
        asked = user.headers | {"X-Request-ID": REQUEST_ID}
        job = (await client.post("/api/v1/generations", headers=asked, json=body)).json()
        assert (await finished(client, user, job["id"]))["status"] == "failed"
    assert kept_job_lines.flush()
    path = f"/api/v1/admin/generations/{job['id']}/logs"

    r = await client.get(path, headers=user.headers)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    admin = await make_admin(runtime, client, signup)
    r = await client.get(path, headers=admin)
    assert r.status_code == 200, r.text
    lines = r.json()["items"]
    # The API's line about creating the job first, then the worker's, oldest first, all with the
    # job's id and the id of the request that asked for it.
    assert lines[0]["event"] == "job created" and lines[0]["owner_id"] == user.id
    failed = next(line for line in lines if line["event"] == "job failed")
    assert "every backend failed" in failed["reason"]
    assert failed["backends_tried"] == ["down-a", "down-b"]
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)
    assert all(line["job_id"] == job["id"] and line["request_id"] == REQUEST_ID for line in lines)
    assert all(line["task"] == "translate" and line["level"] in ("info", "warning") for line in lines)

    unknown = await client.get("/api/v1/admin/generations/0123456789abcdef01234567/logs", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["title"] == "Not found"


async def test_admin_lists_only_what_it_is_asked(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    admin = await make_admin(runtime, client, signup)
    r = await client.get("/api/v1/admin/generations/failed", headers=admin, params={"task": "poem"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "task"


async def test_admins_read_a_users_usage(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    user = await signup()
    await runtime.counters.add(quotas.tokens_key(user.id), 1234)
    await runtime.counters.add(quotas.images_key(user.id), 2)
    assert (await client.get(f"/api/v1/admin/usage/{user.id}", headers=user.headers)).status_code == 403
    admin = await make_admin(runtime, client, signup)
    usage = (await client.get(f"/api/v1/admin/usage/{user.id}", headers=admin)).json()
    assert (usage["tokens"], usage["images"], usage["active_jobs"]) == (1234, 2, 0)
    assert usage == (await client.get("/api/v1/users/me/usage", headers=user.headers)).json()


async def test_every_log_line_of_a_request_carries_its_request_id(client: httpx.AsyncClient, signup: SignUp) -> None:
    user = await signup()
    given = "edge-0123456789abcdef"
    login = {"email": user.email, "password": user.password}
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
        r = await client.post("/api/v1/auth/login", json=login, headers={"X-Request-ID": given})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == given
    logged_in = [line for line in lines if line["event"] == "user logged in"]
    assert [line["request_id"] for line in logged_in] == [given]

    # An id that is not one (too long, odd characters) is replaced, never written to the logs as given.
    r = await client.get("/api/v1/users/me", headers=user.headers | {"X-Request-ID": "<script>" * 30})
    assert r.headers["x-request-id"] != "<script>" * 30
    assert len(r.headers["x-request-id"]) == 32
