"""Jobs that share the in-process model take turns; one waiting its turn is not stuck.

The bundled model on llama.cpp, through the `local` backend, under the time limits a worker puts on
each job (storybang.generation.limits): a stall limit shorter than the other job's story."""

from __future__ import annotations

import asyncio
import time

from storybang.generation import limits
from storybang.generation.backends import local
from storybang.generation.backends.base import Completion, Message
from storybang.settings import GenerationSettings

STORY = [Message("user", "Write a long story about a brave little fox who finds a map. Many paragraphs.")]
# Longer than a first token takes on a busy CPU, shorter than the story ahead (hundreds of tokens).
STALL = 5.0  # the settings' own minimum


async def job(backend: local.LocalBackend, settings: GenerationSettings, times: list[float]) -> Completion:
    async def on_delta(_: str) -> None:
        limits.alive()  # as the story task does for every piece of text
        times.append(time.monotonic())

    async with limits.running(settings):
        return await backend.chat(STORY, max_tokens=800, temperature=0, on_delta=on_delta)


async def test_a_job_waiting_for_the_model_outlasts_a_stall_limit_shorter_than_the_story_ahead() -> None:
    settings = GenerationSettings.model_construct(timeout_seconds=STALL, max_tokens=800)
    backend = local.LocalBackend("local", "smollm2", "llama.cpp")
    await backend.chat(STORY, max_tokens=1, temperature=0)  # loaded before the clock starts
    started = time.monotonic()
    ahead: list[float] = []
    behind: list[float] = []
    first, second = await asyncio.gather(job(backend, settings, ahead), job(backend, settings, behind))
    assert first.completion_tokens > 50 and second.completion_tokens > 50
    # The second waited for the whole first story, longer than the stall limit, and was not ended.
    assert behind[0] - started > STALL
    assert behind[0] >= ahead[-1]
