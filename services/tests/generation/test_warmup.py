"""A model server scaled to zero, starting while a job waits: through a real Dramatiq worker on real
Redis, MariaDB and FerretDB, with a real OpenAI-compatible HTTP server (aiohttp, streaming as vLLM
does) that starts listening only a few seconds after the job was sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import httpx

from storybang.runtime import Runtime
from storybang.settings import Settings
from tests.conftest import Account, app_for, client_for, sign_up
from tests.generation.conftest import finished, running_worker, settings_with

STORY = "The Brave Fox\n\nThe fox walked to the river.\n\nShe drank the cold water and went home."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _chat(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
    """A streamed chat completion, word by word, in OpenAI's server-sent events."""
    response = aiohttp.web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for word in STORY.split(" "):
        chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    usage = {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 24}}
    await response.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
    return response


@asynccontextmanager
async def model_server(port: int, *, after: float, once: asyncio.Event | None = None) -> AsyncIterator[None]:
    """An OpenAI-compatible server on ``port`` that starts listening ``after`` seconds from now, or
    from when ``once`` is set."""
    app = aiohttp.web.Application()
    app.router.add_post("/v1/chat/completions", _chat)
    runner = aiohttp.web.AppRunner(app)

    async def start() -> None:
        if once is not None:
            await once.wait()
        await asyncio.sleep(after)
        await runner.setup()
        await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()

    starting = asyncio.create_task(start())
    try:
        yield
    finally:
        if once is not None and not once.is_set():
            starting.cancel()  # the test ended before the job was taken: never start
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await runner.cleanup()


def cold(name: str, port: int, seconds: int) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "openai",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "model": "m",
        "cold_start_seconds": seconds,
    }


@dataclass
class Own:
    client: httpx.AsyncClient
    account: Account
    runtime: Runtime
    settings: Settings


@asynccontextmanager
async def own(real_settings: Settings, tmp_path: Path, generation: dict[str, Any]) -> AsyncIterator[Own]:
    """An API and settings with a queue namespace and a jobs database of their own: the worker here
    must take this test's job first, not the messages and queued jobs the suite's other tests left."""
    tag = secrets.token_hex(3)
    settings = settings_with(real_settings, tmp_path, generation=generation, worker={"queue_namespace": f"warm-{tag}"})
    mongo = settings.mongo.model_copy(update={"database": f"{settings.mongo.database}_warm{tag}"})
    settings = settings.model_copy(update={"mongo": mongo})
    runtime = await Runtime.open(settings)
    try:
        async with client_for(app_for(runtime)) as client:
            yield Own(client, await sign_up(client), runtime, settings)
    finally:
        await runtime.close()


async def _story(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    body = {"task": "story", "input": {"prompt": "a fox at the river", "audience": "children", "length": "short"}}
    response = await client.post("/api/v1/generations", headers=headers, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def _running(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> None:
    async with asyncio.timeout(60):
        while True:
            job = (await client.get(f"/api/v1/generations/{job_id}", headers=headers)).json()
            if job["status"] != "queued":
                return
            await asyncio.sleep(0.1)


async def test_the_only_backend_starting_from_zero_is_waited_for_and_the_owner_hears_it_warm_up(
    real_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    async with own(real_settings, tmp_path, {"backends": [cold("gpu", port, 60)]}) as it:
        client, account = it.client, it.account
        # The server starts 3 s after the worker took the job, however long the worker took to start.
        taken = asyncio.Event()
        async with model_server(port, after=3, once=taken):
            with running_worker(it.settings, ["story"]):
                job = await _story(client, account.headers)
                await _running(client, account.headers, job["id"])
                taken.set()
                done = await finished(client, account, job["id"])
        replay = await it.runtime.events.replay(account.id, "0-0")
    assert done["status"] == "succeeded", done
    assert done["backend"] == "gpu"
    assert done["result"]["title"] == "The Brave Fox"
    mine = [e for e in replay.events if e.data.get("id") == job["id"]]
    progress = [e.data for e in mine if e.name == "generation.progress"]
    warming = [p for p in progress if p.get("stage") == "warming_up"]
    assert warming, [e.name for e in mine]
    assert warming[0]["backends"] == ["gpu"]
    first_token = next(i for i, p in enumerate(progress) if "delta" in p)
    assert all(p.get("stage") == "warming_up" for p in progress[:first_token])
    assert first_token >= 2  # the wait was announced more than once over its ~3 s
    names = [e.name for e in mine]
    assert names[0] == "generation.queued" and names[-1] == "generation.completed"
    assert "generation.failed" not in names


async def test_a_backend_that_answers_is_used_while_the_first_one_is_cold(
    real_settings: Settings, tmp_path: Path
) -> None:
    cold_port, warm_port = free_port(), free_port()
    backends = [cold("gpu", cold_port, 600), {**cold("cpu", warm_port, 0)}]
    async with own(real_settings, tmp_path, {"backends": backends}) as it:
        async with model_server(warm_port, after=0):
            await asyncio.sleep(0.2)  # listening before the job is sent
            with running_worker(it.settings, ["story"]):
                job = await _story(it.client, it.account.headers)
                done = await finished(it.client, it.account, job["id"])
        replay = await it.runtime.events.replay(it.account.id, "0-0")
    assert done["status"] == "succeeded", done
    assert done["backend"] == "cpu"
    stages = [e.data.get("stage") for e in replay.events if e.data.get("id") == job["id"]]
    assert "warming_up" not in stages  # nobody waited: the second backend answered at once


async def test_a_backend_that_never_starts_fails_the_job_once_its_cold_start_is_over(
    real_settings: Settings, tmp_path: Path
) -> None:
    generation = {"backends": [cold("gpu", free_port(), 2)], "max_retries": 0}
    async with own(real_settings, tmp_path, generation) as it:
        with running_worker(it.settings, ["story"]):
            job = await _story(it.client, it.account.headers)
            done = await finished(it.client, it.account, job["id"])
    assert done["status"] == "failed"
    assert "every backend failed" in done["error"] and "gpu" in done["error"]
