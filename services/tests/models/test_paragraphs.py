"""Paragraph jobs on the bundled model in this process (the `local` backend that `storybang dev`
uses), through a real Dramatiq worker on real Redis: a paragraph written again, one more after it,
each streamed paragraph by paragraph and kept as a new version of the story."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)

from storybang.runtime import Runtime
from storybang.settings import Settings
from tests.conftest import Account, SignUp
from tests.generation.conftest import running_worker, settings_with

STORY = {
    "title": "The brave fox",
    "audience": "children",
    "character_ids": [],
    "language": "en",
    "paragraphs": [{"text": "The fox walked to the river."}, {"text": "She drank cold water and smiled."}],
}


async def finished(client: httpx.AsyncClient, account: Account, job_id: str) -> dict[str, Any]:
    """The job once it has ended: a few minutes, for a model on a busy CPU."""
    async with asyncio.timeout(1200):
        while True:
            job: dict[str, Any] = (await client.get(f"/api/v1/generations/{job_id}", headers=account.headers)).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.2)


async def test_a_paragraph_is_written_again_then_continued(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    account = await signup()
    story: dict[str, Any] = (await client.post("/api/v1/stories", headers=account.headers, json=STORY)).json()
    settings = settings_with(
        real_settings,
        tmp_path,
        generation={"backends": [{"name": "local", "kind": "local"}], "max_tokens": 32, "timeout_seconds": 900},
    )
    url = "/api/v1/generations"
    with running_worker(settings, ["story"]):
        body = {"task": "story", "input": {"story_id": story["id"], "paragraph": 0, "rewrite": "regenerate"}}
        again = await finished(
            client, account, (await client.post(url, headers=account.headers, json=body)).json()["id"]
        )
        body = {
            "task": "story",
            "input": {"story_id": story["id"], "paragraph": 1, "rewrite": "continue", "prompt": "a happy end"},
        }
        more = await finished(
            client, account, (await client.post(url, headers=account.headers, json=body)).json()["id"]
        )
    assert again["status"] == "succeeded", again
    assert more["status"] == "succeeded", more
    assert again["result"]["paragraph"] == 0 and again["result"]["text"]
    assert more["result"]["paragraph"] == 2 and more["result"]["text"]

    kept = (await client.get(f"/api/v1/stories/{story['id']}", headers=account.headers)).json()
    texts = [p["text"] for p in kept["paragraphs"]]
    assert texts == [again["result"]["text"], STORY["paragraphs"][1]["text"], more["result"]["text"]]
    assert kept["version"] == 3  # each job a version: the paragraph it replaced can be restored
    versions = (await client.get(f"/api/v1/stories/{story['id']}/versions", headers=account.headers)).json()
    first = [v for v in versions["items"] if v["number"] == 1]
    assert first and first[0]["title"] == STORY["title"]

    # The text streamed as it was written, saying which paragraph it is.
    replay = await runtime.events.replay(account.id, "0-0")
    deltas = [e.data for e in replay.events if e.name == "generation.progress" and e.data.get("id") == more["id"]]
    assert deltas and all(d["paragraph"] == 2 and d["rewrite"] == "continue" for d in deltas)
    assert "".join(d["delta"] for d in deltas).split()[0] in more["result"]["text"]
