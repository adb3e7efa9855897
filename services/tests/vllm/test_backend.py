"""The story workers' OpenAI backend against a real `vllm serve` of SmolLM2 on the CPU."""

from __future__ import annotations

from storybang.generation.backends.base import Message
from storybang.generation.backends.openai import OpenAIBackend
from tests.vllm.conftest import VLLM_MODEL


async def test_vllm_streams_a_story_with_its_token_count(vllm_url: str) -> None:
    backend = OpenAIBackend("vllm", vllm_url, VLLM_MODEL)
    deltas: list[str] = []

    async def on_delta(delta: str) -> None:
        deltas.append(delta)

    try:
        completion = await backend.chat(
            [
                Message("system", "You write short stories for children."),
                Message("user", "Tell a story about Pip the fox."),
            ],
            max_tokens=48,
            temperature=0,
            on_delta=on_delta,
        )
    finally:
        await backend.close()
    assert len(deltas) >= 3 and completion.text == "".join(deltas) and completion.text.strip()
    # vLLM's own count (stream_options.include_usage), not the backend's estimate from characters.
    assert 0 < completion.completion_tokens <= 48 and completion.prompt_tokens > 10
