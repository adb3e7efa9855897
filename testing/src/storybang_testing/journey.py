"""The journey of a person through StoryBang, as its clients make it: the model suites run it against
processes on this machine, the end-to-end suite through the cluster's Services. It needs httpx and
python-socketio's asyncio client (the services' `test` extra)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import socketio  # type: ignore[import-untyped]

ENDS = ("generation.completed", "generation.failed")
Event = tuple[float, str, dict[str, Any]]  # arrival (time.perf_counter()), name, data


class JobEvents:
    """One user's Socket.IO connection, as a client keeps it: every event it receives, in order,
    with its arrival time. Events of a job that arrive before its id is known are kept too."""

    def __init__(self, *, reconnection: bool = False) -> None:
        self.sio = socketio.AsyncClient(reconnection=reconnection)
        self.received: list[Event] = []
        self._arrived = asyncio.Event()
        self.sio.on("*", self._on_event)

    async def _on_event(self, name: str, data: dict[str, Any]) -> None:
        self.received.append((time.perf_counter(), name, data))
        self._arrived.set()

    @contextlib.asynccontextmanager
    async def connected(self, url: str, token: str, **options: Any) -> AsyncIterator[JobEvents]:
        await self.sio.connect(url, auth={"token": token}, transports=["websocket"], **options)
        try:
            yield self
        finally:
            await self.sio.disconnect()

    def of(self, job_id: str) -> list[Event]:
        return [event for event in self.received if event[2].get("id") == job_id]

    def names(self, job_id: str) -> list[str]:
        return [name for _, name, _ in self.of(job_id)]

    async def until(self, job_id: str, names: Iterable[str], seconds: float) -> list[Event]:
        """The job's events once one of `names` has arrived; TimeoutError after `seconds`."""
        wanted = set(names)
        async with asyncio.timeout(seconds):
            while True:
                self._arrived.clear()  # before the check: an event arriving after it wakes the wait
                if wanted.intersection(self.names(job_id)):
                    return self.of(job_id)
                await self._arrived.wait()

    async def finished(self, job_id: str, seconds: float) -> list[Event]:
        return await self.until(job_id, ENDS, seconds)


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
        async with JobEvents().connected(notifier, token) as events:
            story_job = (await http.post("/api/v1/generations", json=body)).json()
            mine = [(name, data) for _, name, data in await events.finished(story_job["id"], story_seconds)]
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
        # Compared as a whole: a small model's paragraph may be a name alone, the same in Spanish.
        assert [p["text"] for p in spanish["paragraphs"]] != [p["text"] for p in story["paragraphs"]]


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
