"""The OpenAI wire format, proven with the official `openai` client against a real server."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)
from openai.types.chat import ChatCompletionMessageParam


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)


HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "once upon a time the brave fox"}]


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == ["tiny"]


def test_chat_completion_returns_text_finish_reason_and_usage(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=8, temperature=0)
    assert answer.id.startswith("chatcmpl-")
    assert answer.object == "chat.completion"
    choice = answer.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason == "length"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 8
    assert answer.usage.prompt_tokens > 5
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 8


def test_streamed_chat_sends_role_then_deltas_then_finish_then_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=12, temperature=0)
    chunks = list(
        client.chat.completions.create(
            model="tiny",
            messages=HELLO,
            max_tokens=12,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 3
    assert "".join(texts) == whole.choices[0].message.content
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finishing] == ["length"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 12
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_is_server_sent_events_ending_with_done(server: str) -> None:
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 4, "stream": True}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    last_chunk = json.loads(events[-2][6:])
    assert last_chunk["object"] == "chat.completion.chunk"
    assert "usage" not in last_chunk  # not asked for


def test_text_completion_streamed_and_whole_agree(client: openai.OpenAI) -> None:
    whole = client.completions.create(model="tiny", prompt="the cat ran over the hill", max_tokens=6, temperature=0)
    assert whole.object == "text_completion"
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None
    assert whole.usage.completion_tokens == 6
    parts = list(
        client.completions.create(
            model="tiny", prompt="the cat ran over the hill", max_tokens=6, temperature=0, stream=True
        )
    )
    assert "".join(p.choices[0].text for p in parts if p.choices) == whole.choices[0].text


def test_completion_defaults_to_openai_16_tokens(client: openai.OpenAI) -> None:
    answer = client.completions.create(model="tiny", prompt="the owl", temperature=0)
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 16


def test_chat_without_max_tokens_uses_the_server_default(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="tiny", messages=HELLO, temperature=0)
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 10  # default_max_tokens of the test server


def test_stop_sequence_ends_the_text_before_it(client: openai.OpenAI) -> None:
    free = client.completions.create(model="tiny", prompt="the dragon", max_tokens=12, temperature=0).choices[0].text
    words = free.split()
    stop = f" {words[3]}"
    assert stop in free
    cut = client.completions.create(model="tiny", prompt="the dragon", max_tokens=12, temperature=0, stop=[stop])
    assert cut.choices[0].text == free[: free.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_stop_sequence_is_never_streamed(client: openai.OpenAI) -> None:
    free = client.completions.create(model="tiny", prompt="the moon", max_tokens=12, temperature=0).choices[0].text
    stop = " ".join(free.split()[4:6])
    parts = list(
        client.completions.create(model="tiny", prompt="the moon", max_tokens=12, temperature=0, stop=stop, stream=True)
    )
    text = "".join(p.choices[0].text for p in parts if p.choices)
    assert text == free[: free.index(stop)]
    assert stop not in text


def test_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str | None:
        answer = client.chat.completions.create(
            model="tiny",
            messages=HELLO,
            max_tokens=12,
            temperature=1.0,
            top_p=0.9,
            seed=seed,
        )
        return answer.choices[0].message.content

    assert sample(7) == sample(7)
    assert len({sample(s) for s in range(4)}) > 1


def test_content_parts_are_read_as_text(client: openai.OpenAI) -> None:
    parts: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": [{"type": "text", "text": "once upon a time the brave fox"}]}
    ]
    as_parts = client.chat.completions.create(model="tiny", messages=parts, max_tokens=6, temperature=0)
    as_text = client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=6, temperature=0)
    assert as_parts.choices[0].message.content == as_text.choices[0].message.content


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=HELLO, max_tokens=2)


def test_max_tokens_above_the_limit_is_refused_as_problem_json(server: str) -> None:
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 201}
    response = httpx.post(f"{server}/v1/chat/completions", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "max_tokens"


def test_prompt_longer_than_the_context_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        client.completions.create(model="tiny", prompt="fox " * 300, max_tokens=2)


def test_more_than_one_choice_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=2, n=2)


def test_metrics_count_requests_tokens_and_time_to_first_token(client: openai.OpenAI, server: str) -> None:
    client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=3, temperature=0)
    text = httpx.get(f"{server}/metrics").text
    assert 'storybang_inference_requests_total{outcome="ok",route="chat"}' in text
    assert 'storybang_inference_generated_tokens_total{route="chat"}' in text
    assert "storybang_inference_time_to_first_token_seconds_bucket" in text
    assert "storybang_inference_request_duration_seconds_bucket" in text
    assert "storybang_inference_requests_waiting 0.0" in text


def test_a_client_that_leaves_mid_stream_stops_its_generation(server: str) -> None:
    def cancelled() -> float:
        for line in httpx.get(f"{server}/metrics").text.splitlines():
            if line.startswith('storybang_inference_requests_total{outcome="cancelled",route="chat"}'):
                return float(line.split()[-1])
        return 0.0

    before = cancelled()
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 200, "stream": True}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body) as response:
        lines = response.iter_lines()
        next(lines)
        next(lines)
    # The next request is answered at once: the abandoned generation did not run on to 200 tokens.
    answer = httpx.post(f"{server}/v1/completions", json={"prompt": "the", "max_tokens": 1}, timeout=30)
    assert answer.status_code == 200
    for _ in range(200):  # the server notices the disconnect on its next write
        if cancelled() > before:
            break
        time.sleep(0.05)
    assert cancelled() == before + 1
