"""The model in this process: what `storybang inference` serves and what `storybang dev` calls.

One model, one generation at a time: requests wait their turn on a single-thread executor (FIFO).
transformers' streamers decode one sequence only, and on a CPU a second concurrent generation only
slows both; on a GPU, vLLM is the engine for throughput. Generation runs in that thread, so the
event loop stays free to accept and stream other requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteriaList

from storybang.errors import InvalidInput
from storybang.inference import streaming, weights
from storybang.inference.settings import BUNDLED, DEFAULT_CACHE_DIR

# Where they were first defined; the engines share them now (storybang.inference.text).
from storybang.inference.text import FinishReason, Generation, Sampling, Usage

__all__ = ["FinishReason", "Generation", "LocalModel", "Sampling", "Usage"]


class LocalModel:
    """A causal language model and its tokenizer on one device, run by transformers."""

    engine = "transformers"

    def __init__(self, model: Any, tokenizer: Any, *, name: str) -> None:
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"generate-{name}")
        self.waiting = 0
        self.running = 0
        self._counts = threading.Lock()
        # Of the latest finished generation; with several callers at once, use Generation.usage.
        self.last_usage: Usage | None = None

    @classmethod
    def load(
        cls,
        model: str | None = None,
        *,
        device: str = "auto",
        cache_dir: Path = DEFAULT_CACHE_DIR,
        threads: int | None = None,
        name: str = "",
    ) -> LocalModel:
        """Load ``model`` (the bundled "smollm2" by default, converted on first use) — slow: call it
        from a thread."""
        if threads:
            torch.set_num_threads(threads)
        source = weights.resolve(model or BUNDLED, cache_dir)
        lm, tokenizer = weights.load_causal_lm(source, weights.placement(device))
        return cls(lm, tokenizer, name=name or weights.served_name(model or BUNDLED))

    @property
    def device(self) -> torch.device:
        device: torch.device = self.model.device
        return device

    @property
    def device_name(self) -> str:
        return str(self.device)

    @property
    def _pad_token_id(self) -> int | None:
        pad: int | None = self.tokenizer.pad_token_id
        return pad if pad is not None else self.tokenizer.eos_token_id

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    def stream_chat(
        self,
        messages: Sequence[Mapping[str, str]],
        max_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Generation:
        """The reply to a conversation, as text deltas. Prompt problems raise here, before any delta."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise InvalidInput(f"the model {self.name} has no chat template: use /v1/completions", field="messages")
        inputs = self.tokenizer.apply_chat_template(
            [dict(m) for m in messages], add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        return self._generation(inputs, Sampling(max_tokens, temperature, top_p, tuple(stop), seed))

    def stream_completion(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Generation:
        """The continuation of a plain prompt, as text deltas."""
        inputs = self.tokenizer(prompt, return_tensors="pt")
        return self._generation(inputs, Sampling(max_tokens, temperature, top_p, tuple(stop), seed))

    async def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        max_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> tuple[str, Usage]:
        return await self.stream_chat(messages, max_tokens, temperature, top_p, stop, seed).text()

    def _generation(self, inputs: Mapping[str, torch.Tensor], sampling: Sampling) -> Generation:
        if sampling.max_tokens < 1:
            raise InvalidInput("max_tokens must be at least 1", field="max_tokens")
        prompt_tokens = int(inputs["input_ids"].shape[-1])
        room = self.context_length - prompt_tokens
        if room < 1:
            raise InvalidInput(
                f"the prompt has {prompt_tokens} tokens; this model reads at most {self.context_length}",
                field="messages",
            )
        sampling = dataclasses.replace(sampling, max_tokens=min(sampling.max_tokens, room))
        return Generation(self, {k: v.to(self.device) for k, v in inputs.items()}, prompt_tokens, sampling)

    def submit(
        self,
        inputs: Mapping[str, torch.Tensor],
        sampling: Sampling,
        queue: asyncio.Queue[object],
        cancel: threading.Event,
    ) -> tuple[asyncio.Future[None], streaming.TokenStreamer]:
        """Queue a generation behind the ones already waiting."""
        with self._counts:
            self.waiting += 1
        loop = asyncio.get_running_loop()
        streamer = streaming.TokenStreamer(self.tokenizer, loop, queue)
        future = loop.run_in_executor(self.executor, self._generate_blocking, inputs, sampling, streamer, cancel)
        return future, streamer

    def _generate_blocking(
        self,
        inputs: Mapping[str, torch.Tensor],
        sampling: Sampling,
        streamer: streaming.TokenStreamer,
        cancel: threading.Event,
    ) -> None:
        """Runs in the executor's one thread: the only place the model computes."""
        with self._counts:
            self.waiting -= 1
            self.running += 1
        try:
            if cancel.is_set():  # the client left while waiting its turn
                streamer.end()  # type: ignore[no-untyped-call, unused-ignore]
                return
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            with torch.inference_mode():
                self.model.generate(
                    **inputs,
                    streamer=streamer,
                    max_new_tokens=sampling.max_tokens,
                    stopping_criteria=StoppingCriteriaList([streaming.StopOnEvent(cancel)]),
                    pad_token_id=self._pad_token_id,
                    **sampling.generate_kwargs(),
                )
        finally:
            with self._counts:
                self.running -= 1
