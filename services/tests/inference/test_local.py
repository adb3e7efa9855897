"""The in-process model (`storybang dev`'s embedded default), without any server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)

from storybang.errors import InvalidInput
from storybang.inference.local import LocalModel, Usage
from tests.inference import tiny

HELLO = [{"role": "user", "content": "the brave little owl"}]


@pytest.fixture(scope="module")
def model(tiny_lm: Path) -> LocalModel:
    return LocalModel.load(str(tiny_lm), device="cpu", threads=1)


async def test_stream_chat_yields_text_deltas_and_counts_tokens(model: LocalModel) -> None:
    generation = model.stream_chat(HELLO, max_tokens=9, temperature=0)
    deltas = [delta async for delta in generation]
    assert len(deltas) > 3
    assert all(isinstance(d, str) and d for d in deltas)
    assert generation.usage == Usage(generation.prompt_tokens, 9)
    assert generation.finish_reason == "length"


async def test_chat_returns_the_streamed_text_and_usage(model: LocalModel) -> None:
    streamed = "".join([d async for d in model.stream_chat(HELLO, max_tokens=7, temperature=0)])
    text, usage = await model.chat(HELLO, max_tokens=7, temperature=0)
    assert text == streamed
    prompt_tokens, completion_tokens = usage
    assert (completion_tokens, usage.total_tokens) == (7, prompt_tokens + 7)
    assert model.last_usage == usage


async def test_concurrent_requests_take_turns_and_get_their_own_answers(model: LocalModel) -> None:
    prompts = [[{"role": "user", "content": w}] for w in ("the cat", "a dragon", "the moon")]
    alone = [(await model.chat(p, max_tokens=6, temperature=0))[0] for p in prompts]
    together = await asyncio.gather(*(model.chat(p, max_tokens=6, temperature=0) for p in prompts))
    assert [text for text, _ in together] == alone
    assert (model.waiting, model.running) == (0, 0)


async def test_a_cancelled_generation_frees_the_model(model: LocalModel) -> None:
    generation = model.stream_chat(HELLO, max_tokens=200, temperature=0)
    await anext(generation)
    generation.cancel()
    _, usage = await model.chat(HELLO, max_tokens=2, temperature=0)
    assert usage.completion_tokens == 2
    assert generation.usage.completion_tokens < 200


async def test_a_model_without_a_chat_template_refuses_chat(tmp_path: Path) -> None:
    plain = LocalModel.load(str(tiny.causal_lm(tmp_path, chat=False)), device="cpu")
    with pytest.raises(InvalidInput, match="no chat template"):
        plain.stream_chat(HELLO, max_tokens=2)
    assert [d async for d in plain.stream_completion("the fox", max_tokens=3, temperature=0)]
