"""The bundled model, in this process (the embedded default and `local` backends).

Needs the inference extra (llama-cpp-python for the bundled GGUF model on a CPU, torch and
transformers for the rest): imported only when a `local` backend is built. One model per process,
loaded on first use and shared by every job.
"""

from __future__ import annotations

import asyncio
from typing import Any

from storybang.generation import limits
from storybang.generation.backends.base import Completion, Message, OnDelta, TextOnly, Unavailable
from storybang.generation.prompts import translation_messages

# How often a job waiting its turn for the model says so (storybang.generation.limits.queued): well
# inside any stall limit (5 s at the least).
QUEUE_TICK_SECONDS = 2.0

_models: dict[tuple[str, str], Any] = {}
_lock = asyncio.Lock()


async def _model(name: str, engine: str) -> Any:
    async with _lock:
        if (name, engine) not in _models:
            try:
                from storybang.inference import engine as engines
            except ImportError as e:
                raise Unavailable(
                    "the local model needs the inference extra (llama-cpp-python, transformers): "
                    "scripts/inference-env.sh"
                ) from e
            _models[name, engine] = await asyncio.to_thread(engines.load, name, engine=engine)  # type: ignore[arg-type]
        return _models[name, engine]


async def _while_queued(model: Any) -> None:
    """Until the first text: while the model writes another job's text (one generation at a time),
    this job is waiting its turn, not stuck."""
    while True:
        await asyncio.sleep(QUEUE_TICK_SECONDS)
        if model.running and model.waiting:
            limits.queued(QUEUE_TICK_SECONDS)


class LocalBackend(TextOnly):
    def __init__(self, name: str, model: str, engine: str = "auto") -> None:
        self.name = name
        self._model_name = model
        self._engine = engine

    async def chat(
        self, messages: list[Message], *, max_tokens: int, temperature: float, on_delta: OnDelta | None = None
    ) -> Completion:
        model = await _model(self._model_name, self._engine)
        chat = [{"role": m.role, "content": m.content} for m in messages]
        parts: list[str] = []
        generation = model.stream_chat(chat, max_tokens=max_tokens, temperature=temperature)
        waiting = asyncio.create_task(_while_queued(model))
        try:
            async for delta in generation:
                waiting.cancel()
                parts.append(delta)
                if on_delta is not None:
                    await on_delta(delta)
        finally:
            waiting.cancel()
        # This generation's own counts: with jobs in parallel, the model's latest usage may be another's.
        prompt_tokens, completion_tokens = generation.usage
        return Completion("".join(parts), prompt_tokens, completion_tokens)

    async def translate(self, text: str, *, source: str, target: str) -> str:
        result = await self.chat(translation_messages(text, source, target), max_tokens=1024, temperature=0.2)
        return result.text.strip()
