"""The bundled model, in this process (the embedded default and `local` backends).

Needs the inference extra (torch, transformers): imported only when a `local` backend is built.
One model per process, loaded on first use and shared by every job.
"""

from __future__ import annotations

import asyncio

from storybang.generation.backends.base import Completion, Message, OnDelta, TextOnly, Unavailable
from storybang.generation.prompts import translation_messages

_models: dict[str, object] = {}
_lock = asyncio.Lock()


async def _model(name: str) -> object:
    async with _lock:
        if name not in _models:
            try:
                from storybang.inference.local import LocalModel
            except ImportError as e:
                raise Unavailable(
                    "the local model needs the inference extra (torch, transformers): scripts/inference-env.sh"
                ) from e
            _models[name] = await asyncio.to_thread(LocalModel.load, name)
        return _models[name]


class LocalBackend(TextOnly):
    def __init__(self, name: str, model: str) -> None:
        self.name = name
        self._model_name = model

    async def chat(
        self, messages: list[Message], *, max_tokens: int, temperature: float, on_delta: OnDelta | None = None
    ) -> Completion:
        model = await _model(self._model_name)
        chat = [{"role": m.role, "content": m.content} for m in messages]
        parts: list[str] = []
        usage = None
        async for delta in model.stream_chat(chat, max_tokens=max_tokens, temperature=temperature):  # type: ignore[attr-defined]
            parts.append(delta)
            if on_delta is not None:
                await on_delta(delta)
        usage = getattr(model, "last_usage", None)
        text = "".join(parts)
        prompt_tokens, completion_tokens = usage if usage else (0, max(1, len(text) // 4))
        return Completion(text, prompt_tokens, completion_tokens)

    async def translate(self, text: str, *, source: str, target: str) -> str:
        result = await self.chat(translation_messages(text, source, target), max_tokens=1024, temperature=0.2)
        return result.text.strip()
