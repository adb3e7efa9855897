"""The whole generation path with real models, every role its own process on loopback.

`storybang inference` serves the real pretrained SmolLM2-135M-Instruct (and a tiny random-weight
captioner built here, since no vision model ships offline); `storybang serve`, two
`storybang worker`s (story + describe on the inference server; translate on Apertium) and
`storybang notifier` run on the real Redis, MariaDB and FerretDB. A person registers, creates a
character with a photo, has it described, asks for a story, watches it stream over Socket.IO, and
has it translated into Spanish.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio  # type: ignore[import-untyped]

from storybang.settings import Settings
from tests.conftest import make_settings
from tests.inference import tiny
from tests.processes import free_port, settings_env, storybang


@pytest.fixture(scope="module")
def system(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("e2e")
    captioner = tiny.captioner(tmp / "captioner")
    inference_port, api_port, notifier_port = free_port(), free_port(), free_port()
    settings = make_settings(
        tmp,
        mysql=real_settings.mysql.model_dump(),
        mongo=real_settings.mongo.model_dump(),
        redis=real_settings.redis.model_dump(),
        generation={"max_tokens": 320, "timeout_seconds": 600},
    )
    env = settings_env(settings)
    inference = {
        "name": "smollm2",
        "kind": "storybang",
        "base_url": f"http://127.0.0.1:{inference_port}/v1",
        "model": "smollm2",
    }
    models_env = env | {"STORYBANG_GENERATION__BACKENDS": json.dumps([inference])}
    apertium_env = env | {"STORYBANG_GENERATION__BACKENDS": json.dumps([{"name": "apertium", "kind": "apertium"}])}
    story_port, translate_port = free_port(), free_port()
    threads = os.environ.get("STORYBANG_INFERENCE_THREADS", "2")
    with (
        storybang(
            ["inference", "--port", str(inference_port), "--caption-model", str(captioner)],
            {"STORYBANG_INFERENCE_THREADS": threads},
            inference_port,
            tmp / "inference.log",
            timeout=600,
            ready="/readyz",
        ),
        storybang(
            [
                "serve",
                "--port",
                str(api_port),
                "--domain",
                "identity",
                "--domain",
                "characters",
                "--domain",
                "stories",
                "--domain",
                "generation",
            ],
            env,
            api_port,
            tmp / "api.log",
        ) as api,
        storybang(
            ["worker", "--task", "story", "--task", "describe"],
            models_env | {"STORYBANG_WORKER__METRICS_PORT": str(story_port)},
            story_port,
            tmp / "w1.log",
        ),
        storybang(
            ["worker", "--task", "translate"],
            apertium_env | {"STORYBANG_WORKER__METRICS_PORT": str(translate_port)},
            translate_port,
            tmp / "w2.log",
        ),
        storybang(["notifier", "--port", str(notifier_port)], env, notifier_port, tmp / "notifier.log") as notifier,
    ):
        yield {"api": api, "notifier": notifier}


async def wait_job(http: httpx.AsyncClient, job_id: str, seconds: float) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            job: dict[str, Any] = (await http.get(f"/api/v1/generations/{job_id}")).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.25)


async def test_a_person_makes_an_illustrated_story_end_to_end(system: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=system["api"], timeout=60) as http:
        account = {"email": "e2e@example.com", "password": "an end to end passphrase"}
        assert (await http.post("/api/v1/auth/register", json=account | {"display_name": "Ada"})).status_code == 201
        token = (await http.post("/api/v1/auth/login", json=account)).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        character = (
            await http.post("/api/v1/characters", json={"name": "Pip", "description": "a small red fox"})
        ).json()
        r = await http.put(
            f"/api/v1/characters/{character['id']}/photo", files={"file": ("pip.png", tiny.png(), "image/png")}
        )
        assert r.status_code == 200, r.text

        described = (
            await http.post(
                "/api/v1/generations", json={"task": "describe", "input": {"character_id": character["id"]}}
            )
        ).json()
        done = await wait_job(http, described["id"], 120)
        assert done["status"] == "succeeded", done
        assert done["backend"] == "smollm2" and done["result"]["description"]
        kept = (await http.get(f"/api/v1/characters/{character['id']}")).json()
        assert kept["photo_description"] == done["result"]["description"].strip()

        events: list[tuple[str, dict[str, Any]]] = []
        finished = asyncio.Event()
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("*")  # type: ignore[untyped-decorator]
        async def on_event(name: str, data: dict[str, Any]) -> None:
            events.append((name, data))
            if name in ("generation.completed", "generation.failed") and data.get("task") == "story":
                finished.set()

        await sio.connect(system["notifier"], auth={"token": token}, transports=["websocket"])
        try:
            body = {
                "task": "story",
                "input": {
                    "prompt": "Pip the fox finds a lost kite",
                    "audience": "children",
                    "character_ids": [character["id"]],
                    "values": ["kindness"],
                    "length": "short",
                    "save": True,
                },
            }
            story_job = (await http.post("/api/v1/generations", json=body)).json()
            await asyncio.wait_for(finished.wait(), 600)
        finally:
            await sio.disconnect()
        mine = [(n, d) for n, d in events if d.get("id") == story_job["id"]]
        names = [n for n, _ in mine]
        assert names[0] == "generation.queued" and names[1] == "generation.started"
        assert names[-1] == "generation.completed", mine[-1]
        deltas = "".join(d["delta"] for n, d in mine if n == "generation.progress")
        assert names.count("generation.progress") >= 3 and deltas.strip()
        result = mine[-1][1]["result"]
        assert result["title"] and result["paragraphs"] and result["story_id"]
        assert mine[-1][1]["backend"] == "smollm2"

        story = (await http.get(f"/api/v1/stories/{result['story_id']}")).json()
        assert [p["text"] for p in story["paragraphs"]] == result["paragraphs"]

        translated = (
            await http.post(
                "/api/v1/generations",
                json={"task": "translate", "input": {"story_id": story["id"], "target_language": "es"}},
            )
        ).json()
        done = await wait_job(http, translated["id"], 120)
        assert done["status"] == "succeeded" and done["backend"] == "apertium", done
        spanish = (await http.get(f"/api/v1/stories/{story['id']}")).json()["translations"]["es"]
        assert len(spanish["paragraphs"]) == len(story["paragraphs"])
        assert spanish["paragraphs"][0]["text"] != story["paragraphs"][0]["text"]
