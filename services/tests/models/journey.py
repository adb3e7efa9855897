"""The end-to-end journey the model suites share, whichever server tells the story."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import socketio  # type: ignore[import-untyped]

from tests.inference import tiny


async def wait_job(http: httpx.AsyncClient, job_id: str, seconds: float) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            job: dict[str, Any] = (await http.get(f"/api/v1/generations/{job_id}")).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.25)


async def make_an_illustrated_story(
    system: dict[str, str], *, email: str, story_backend: str, story_seconds: float
) -> None:
    """A person registers, makes a character with a photo, has it described, asks for a story,
    watches it stream over Socket.IO, and has it translated into Spanish."""
    async with httpx.AsyncClient(base_url=system["api"], timeout=60) as http:
        account = {"email": email, "password": "an end to end passphrase"}
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
            await asyncio.wait_for(finished.wait(), story_seconds)
        finally:
            await sio.disconnect()
        mine = [(n, d) for n, d in events if d.get("id") == story_job["id"]]
        names = [n for n, _ in mine]
        assert names[0] == "generation.queued" and names[1] == "generation.started"
        assert names[-1] == "generation.completed", mine[-1]
        deltas = "".join(d["delta"] for n, d in mine if n == "generation.progress")
        assert names.count("generation.progress") >= 3 and deltas.strip()
        # The event says which story it saved; the whole result is fetched, as every client does.
        summary = mine[-1][1]["summary"]
        assert mine[-1][1]["backend"] == story_backend
        result = (await http.get(f"/api/v1/generations/{story_job['id']}")).json()["result"]
        assert result["title"] and result["paragraphs"] and result["story_id"] == summary["story_id"]

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
