"""Fault tests with every role as its own process: a worker killed mid-job, Redis restarted.

The API and the workers are real `storybang` processes on loopback; MariaDB and FerretDB are the
shared test servers; Redis is a server of each test's own (append-only file on), so restarting it
disturbs nothing else.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storybang.settings import Settings
from storybang_testing.redis import redis_server
from storybang_testing.waiting import free_port
from tests.conftest import make_settings
from tests.processes import Role, settings_env, start_role, stop_role, storybang

APERTIUM = {"name": "apertium", "kind": "apertium"}
PARAGRAPH = "The little fox walked along the river and looked at the water, which was cold and clear."


def wait_job(api: httpx.Client, job_id: str, until: tuple[str, ...], timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api.get(f"/api/v1/generations/{job_id}").json()
        if job["status"] in until:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {job['status']}: {job}")
        time.sleep(0.1)


@pytest.fixture
def system(real_settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, Any, httpx.Client, Path]]:
    with redis_server(tmp_path / "redis", append_only=True) as redis:
        settings = make_settings(
            tmp_path,
            mysql=real_settings.mysql.model_dump(),
            mongo=real_settings.mongo.model_dump(),
            redis={"url": f"{redis.url}/0"},
            generation={"backends": [APERTIUM], "max_active_jobs": 20},
            # A dead worker's job comes back within seconds, not the production minute.
            worker={"heartbeat_timeout_seconds": 2, "maintenance_chance": 1_000_000, "concurrency": 1},
        )
        port = free_port()
        args = ["serve", "--domain", "identity", "--domain", "stories", "--domain", "generation", "--port", str(port)]
        with storybang(args, settings_env(settings), port, tmp_path / "api.log") as base:
            api = httpx.Client(base_url=base, timeout=30)
            account = {"email": f"sys-{port}@example.com", "password": "system test passphrase", "display_name": "S"}
            api.post("/api/v1/auth/register", json=account).raise_for_status()
            login = {"email": account["email"], "password": account["password"]}
            token = api.post("/api/v1/auth/login", json=login).json()
            api.headers["Authorization"] = f"Bearer {token['access_token']}"
            yield settings, redis.restart, api, tmp_path


def start_worker(settings: Settings, tmp_path: Path, name: str) -> Role:
    port = free_port()
    env = settings_env(settings) | {"STORYBANG_WORKER__METRICS_PORT": str(port)}
    # Ready, not only up: /healthz answers as soon as the process listens, /readyz once the worker
    # has opened its stores and consumes.
    return start_role(["worker", "--task", "translate"], env, port, tmp_path / f"{name}.log", ready="/readyz")


def long_story(api: httpx.Client, paragraphs: int) -> str:
    body = {
        "title": "The fox",
        "audience": "children",
        "character_ids": [],
        "paragraphs": [{"text": f"{PARAGRAPH} ({i})"} for i in range(paragraphs)],
    }
    r = api.post("/api/v1/stories", json=body)
    r.raise_for_status()
    story_id: str = r.json()["id"]
    return story_id


def test_a_worker_killed_mid_job_leaves_the_job_to_another_which_completes_it_once(system: Any) -> None:
    settings, _, api, tmp_path = system
    story_id = long_story(api, 40)
    job = api.post(
        "/api/v1/generations", json={"task": "translate", "input": {"story_id": story_id, "target_language": "es"}}
    ).json()
    first = start_worker(settings, tmp_path, "worker-1")
    deadline = time.monotonic() + 60
    while api.get(f"/api/v1/generations/{job['id']}").json()["progress"] < 0.1:
        assert time.monotonic() < deadline, "the first worker never made progress"
        time.sleep(0.05)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()

    second = start_worker(settings, tmp_path, "worker-2")
    try:
        done = wait_job(api, job["id"], ("succeeded", "failed", "cancelled"))
    finally:
        stop_role(second)
    assert done["status"] == "succeeded", done
    story = api.get(f"/api/v1/stories/{story_id}").json()
    assert len(story["translations"]["es"]["paragraphs"]) == 40
    events = api.get("/api/v1/generations", params={"status": "succeeded"}).json()["items"]
    assert [j["id"] for j in events].count(job["id"]) == 1


def test_restarting_redis_during_a_run_loses_no_job(system: Any) -> None:
    settings, restart_redis, api, tmp_path = system
    body = {"task": "translate", "input": {"text": "The fox is happy.", "target_language": "es"}}
    worker = start_worker(settings, tmp_path, "worker")
    try:
        ids = [api.post("/api/v1/generations", json=body).json()["id"] for _ in range(3)]
        restart_redis()
        for _ in range(3):
            r = api.post("/api/v1/generations", json=body)
            if r.status_code == 503:  # the API's Redis connection noticed the restart: say so, once
                r = api.post("/api/v1/generations", json=body)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        finished = [wait_job(api, job_id, ("succeeded", "failed")) for job_id in ids]
    finally:
        stop_role(worker)
    assert [j["status"] for j in finished] == ["succeeded"] * 6


def test_a_worker_reports_health_readiness_and_metrics(system: Any) -> None:
    settings, _, _, tmp_path = system
    worker = start_worker(settings, tmp_path, "worker")
    try:
        assert httpx.get(worker.base + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(worker.base + "/readyz")
        assert ready.status_code == 200 and set(ready.json()["checks"]) >= {"sql", "documents", "events"}
        assert "storybang_generation_jobs_total" in httpx.get(worker.base + "/metrics").text
    finally:
        stop_role(worker)
