"""An OpenAI-compatible server that answers at once, to measure StoryBang's own overhead.

Benchmarks only: it stands in for a model so that the figures are the queue's, the worker's and
the stores' time, not a model's.
"""

import json
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

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
