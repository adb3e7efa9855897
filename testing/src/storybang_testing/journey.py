"""The journey of a person through StoryBang, as its clients make it: the model suites run it against
processes on this machine, the end-to-end suite through the cluster's Services. It needs httpx and
python-socketio's asyncio client (the services' `test` extra)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import socketio  # type: ignore[import-untyped]


async def wait_job(http: httpx.AsyncClient, job_id: str, seconds: float) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            job: dict[str, Any] = (await http.get(f"/api/v1/generations/{job_id}")).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.25)


async def make_an_illustrated_story(
    api: str,
    notifier: str,
    *,
    email: str,
    story_backend: str,
    story_seconds: float,
    photo: bytes | None = None,
    translate_backend: str = "apertium",
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """A person registers, makes a character (with a `photo`, has it described), asks for a story,
    watches it stream over Socket.IO, and has it translated into Spanish. `transport` carries the
    API's requests where a plain connection to `api` would not (the cluster's path table)."""
    async with httpx.AsyncClient(base_url=api, timeout=60, transport=transport) as http:
        account = {"email": email, "password": "an end to end passphrase"}
        registered = await http.post("/api/v1/auth/register", json=account | {"display_name": "Ada"})
        assert registered.status_code == 201, registered.text
        login = await http.post("/api/v1/auth/login", json=account)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        created = await http.post("/api/v1/characters", json={"name": "Pip", "description": "a small red fox"})
        assert created.status_code == 201, created.text
        character = created.json()
        if photo is not None:
            await describe_the_photo(http, character["id"], photo)

        events: list[tuple[str, dict[str, Any]]] = []
        finished = asyncio.Event()
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("*")  # type: ignore[untyped-decorator]
        async def on_event(name: str, data: dict[str, Any]) -> None:
            events.append((name, data))
            if name in ("generation.completed", "generation.failed") and data.get("task") == "story":
                finished.set()

        await sio.connect(notifier, auth={"token": token}, transports=["websocket"])
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
            await asyncio.wait_for(finished.wait(), story_seconds)
        finally:
            await sio.disconnect()
        mine = [(n, d) for n, d in events if d.get("id") == story_job["id"]]
        names = [n for n, _ in mine]
        assert names[0] == "generation.queued"
        assert names[1] == "generation.started"
        assert names[-1] == "generation.completed", mine[-1]
        deltas = "".join(d["delta"] for n, d in mine if n == "generation.progress")
        assert names.count("generation.progress") >= 3
        assert deltas.strip()
        # The event says which story it saved; the whole result is fetched, as every client does.
        summary = mine[-1][1]["summary"]
        assert mine[-1][1]["backend"] == story_backend
        result = (await http.get(f"/api/v1/generations/{story_job['id']}")).json()["result"]
        assert result["title"]
        assert result["paragraphs"]
        assert result["story_id"] == summary["story_id"]

        story = (await http.get(f"/api/v1/stories/{result['story_id']}")).json()
        assert [p["text"] for p in story["paragraphs"]] == result["paragraphs"]

        translated = (
            await http.post(
                "/api/v1/generations",
                json={"task": "translate", "input": {"story_id": story["id"], "target_language": "es"}},
            )
        ).json()
        done = await wait_job(http, translated["id"], 120)
        assert done["status"] == "succeeded", done
        assert done["backend"] == translate_backend, done
        spanish = (await http.get(f"/api/v1/stories/{story['id']}")).json()["translations"]["es"]
        assert len(spanish["paragraphs"]) == len(story["paragraphs"])
        assert spanish["paragraphs"][0]["text"] != story["paragraphs"][0]["text"]


async def describe_the_photo(http: httpx.AsyncClient, character_id: str, photo: bytes) -> None:
    """Upload a character's photo and have the model describe it into the character."""
    r = await http.put(f"/api/v1/characters/{character_id}/photo", files={"file": ("pip.png", photo, "image/png")})
    assert r.status_code == 200, r.text
    described = (
        await http.post("/api/v1/generations", json={"task": "describe", "input": {"character_id": character_id}})
    ).json()
    done = await wait_job(http, described["id"], 120)
    assert done["status"] == "succeeded", done
    assert done["backend"] == "smollm2"
    assert done["result"]["description"]
    kept = (await http.get(f"/api/v1/characters/{character_id}")).json()
    assert kept["photo_description"] == done["result"]["description"].strip()
