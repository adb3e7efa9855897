"""A model that answers at once, to measure StoryBang's own overhead: an OpenAI-compatible server
(for the processes of the submit → completed benchmark) and the same answers in process
(:class:`InstantBackend`, for the throughput and cost per job).

Benchmarks only: it stands in for a model so that the figures are the queue's, the worker's and
the stores' time, not a model's.
"""

import json
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from storybang.generation.backends.base import Completion, Message, OnDelta, TextOnly

app = FastAPI()
TEXT = "La zorra es feliz."


@app.post("/v1/chat/completions")
async def chat(request: Request) -> StreamingResponse:
    await request.body()

    async def stream() -> AsyncIterator[str]:
        chunk = {"choices": [{"index": 0, "delta": {"content": TEXT}}]}
        yield f"data: {json.dumps(chunk)}\n\n"
        usage = {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}
        yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


class InstantBackend(TextOnly):
    """The same instant model in the worker's own process: the job path's cost without an HTTP call,
    like the bare actor it is compared with (which calls nothing)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def chat(
        self, messages: list[Message], *, max_tokens: int, temperature: float, on_delta: OnDelta | None = None
    ) -> Completion:
        if on_delta is not None:
            await on_delta(TEXT)
        return Completion(TEXT, prompt_tokens=10, completion_tokens=5)

    async def translate(self, text: str, *, source: str, target: str) -> str:
        return TEXT

    async def close(self) -> None:
        return None
