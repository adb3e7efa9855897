"""A story's words reach its reader in a few events, not one per token: a real OpenAI-compatible
HTTP server (aiohttp) streams a story token by token, as fast as it can, to a job run on the real
stores."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp.web

from storybang.generation import execution, jobs, tasks
from storybang.generation.backends.chain import Chain
from storybang.generation.tasks import Context
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from tests.generation.conftest import settings_with
from tests.generation.test_warmup import free_port

WORDS = [f"word{n}" for n in range(400)]
STORY = "The Long Walk\n\n" + " ".join(WORDS[:200]) + "\n\n" + " ".join(WORDS[200:])


async def _chat(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
    response = aiohttp.web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for token in STORY.split(" "):
        chunk = {"choices": [{"index": 0, "delta": {"content": token + " "}}]}
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    usage = {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 400}}
    await response.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
    return response


async def test_a_fast_stream_goes_out_in_few_events_with_every_word_in_order(
    real_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    app = aiohttp.web.Application()
    app.router.add_post("/v1/chat/completions", _chat)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    backend = {"name": "gpu", "kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": "m"}
    settings = settings_with(real_settings, tmp_path, generation={"backends": [backend]})
    runtime = await Runtime.open(settings)
    ctx = Context(runtime, Chain.for_task("story", settings.generation))
    owner = ids.new_id()
    data = {"prompt": "a walk", "audience": "general", "character_ids": [], "length": "long", "language": "en"}
    try:
        job = await jobs.create(runtime.documents, owner, "story", data, None)
        assert await execution.execute(ctx, job["id"], 0) == "succeeded"
        replay = await runtime.events.replay(owner, "0-0")
    finally:
        await ctx.chain.close()
        await runtime.close()
        await runner.cleanup()
    deltas = [e.data["delta"] for e in replay.events if e.name == "generation.progress" and "delta" in e.data]
    tokens = len(STORY.split(" "))
    assert "".join(deltas) == "".join(token + " " for token in STORY.split(" "))
    assert deltas[0] == "The "  # the first words at once: the model is no longer warming up
    # However fast the tokens come, one event per DELTA_EVERY_SECONDS or DELTA_MAX_CHARS (and the last).
    assert len(deltas) < tokens / 4, len(deltas)
    assert all(len(delta) < tasks.DELTA_MAX_CHARS + 20 for delta in deltas)
    assert [e.name for e in replay.events][-1] == "generation.completed"
