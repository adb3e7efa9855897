"""A story job on the bundled model in this process (the `local` backend of `storybang dev`),
through a real Dramatiq worker on real Redis, MariaDB and FerretDB: it asks the model for the tokens
its length needs, not for every token a job may have, and the worker learns the model's pace from
it, which the next job's time limit follows."""

from __future__ import annotations

from pathlib import Path

import httpx
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)

from storybang.generation import limits, prompts, worker
from storybang.generation.tasks import Context
from storybang.settings import Settings
from tests.conftest import SignUp
from tests.generation.conftest import settings_with
from tests.models.test_paragraphs import finished


async def test_a_short_story_stops_at_its_length_and_measures_the_models_pace(
    client: httpx.AsyncClient, signup: SignUp, real_settings: Settings, tmp_path: Path
) -> None:
    account = await signup()
    # max_tokens as by default: the model, given all of it, runs on for 800 words and more.
    generation = {"backends": [{"name": "local", "kind": "local"}], "max_tokens": 1024, "timeout_seconds": 900}
    settings = settings_with(real_settings, tmp_path, generation=generation)
    budget = prompts.story_tokens("short", "children", "en", 1024)
    contexts: dict[str, Context] = {}
    w = worker.start(settings, ["story"], contexts=contexts)
    try:
        body = {
            "task": "story",
            "input": {"prompt": "a brave little fox who finds a map", "audience": "children", "length": "short"},
        }
        job = (await client.post("/api/v1/generations", headers=account.headers, json=body)).json()
        done = await finished(client, account, job["id"])
    finally:
        w.stop(timeout=10_000)
    assert done["status"] == "succeeded", done
    assert done["result"]["title"] and done["result"]["paragraphs"]

    # The story kept is what the model wrote within its budget (a word is a token or more); given
    # max_tokens, it writes 800 words and more.
    kept = [done["result"]["title"], *done["result"]["paragraphs"]]
    assert sum(len(p.split()) for p in kept) <= budget

    pace = contexts["story"].chain.pace.of("local")
    assert pace is not None and pace > limits.MIN_TOKENS_PER_SECOND
