"""A GGUF text model on llama.cpp (llama-cpp-python): the CPU engine of the bundled model.

On a laptop's CPU llama.cpp runs the quantized file as it is, several times faster than transformers
runs the de-quantized float32 model (services/bench/story.py measures both), loads in well under a
second, and needs no torch. transformers stays the engine for GPUs, vision and diffusers.

As with :class:`storybang.inference.local.LocalModel`: one model, one generation at a time, in a
single-thread executor (FIFO), text handed to the event loop as it is decoded.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from storybang.errors import InvalidInput
from storybang.inference.bundled import BUNDLED_NAMES, bundled_gguf
from storybang.inference.errors import ModelMissing
from storybang.inference.settings import BUNDLED
from storybang.inference.text import END, Generation, Sampling, Usage

# The bundled model was trained on 8,192 tokens; a story and its prompt need far fewer, and the
# KV cache of a smaller context costs less memory and time to set up.
DEFAULT_CONTEXT = 4096


def gguf_path(model: str) -> Path | None:
    """The GGUF file that ``model`` names (the bundled name, or a path to a ``.gguf``), else None."""
    if model in BUNDLED_NAMES:
        return bundled_gguf()
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelMissing(f"no GGUF file at {model}")
        return path
    return None


@dataclasses.dataclass
class _Count:
    generated: int = 0


class LlamaModel:
    """A GGUF causal language model on the CPU, run by llama.cpp."""

    engine = "llama.cpp"
    device_name = "cpu"

    def __init__(self, llm: Any, *, name: str, path: Path) -> None:
        self.llm, self.name, self.path = llm, name, path
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"generate-{name}")
        self.waiting = 0
        self.running = 0
        self._counts = threading.Lock()
        # Of the latest finished generation; with several callers at once, use Generation.usage.
        self.last_usage: Usage | None = None
        metadata: dict[str, str] = llm.metadata
        template = metadata.get("tokenizer.chat_template")
        eos, bos = llm.token_eos(), llm.token_bos()
        self._chat = (
            Jinja2ChatFormatter(template, eos_token=_piece(llm, eos), bos_token=_piece(llm, bos)) if template else None
        )

    @classmethod
    def load(
        cls, model: str | None = None, *, threads: int | None = None, context: int = DEFAULT_CONTEXT, name: str = ""
    ) -> LlamaModel:
        """Load ``model`` (the bundled "smollm2" by default, or a ``.gguf`` path)."""
        path = gguf_path(model or BUNDLED)
        if path is None:
            raise ModelMissing(f"llama.cpp reads GGUF files; {model} is not one")
        # As torch does, every core by default (llama-cpp-python's own default is half of them).
        threads = threads or os.cpu_count() or 1
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=0,
                verbose=False,
            )
        except ValueError as e:  # llama-cpp-python's word for a file it cannot load
            raise ModelMissing(f"cannot load {path}: {e}") from e
        default = BUNDLED if (model or BUNDLED) in BUNDLED_NAMES else path.stem
        return cls(llm, name=name or default, path=path)

    @property
    def context_length(self) -> int:
        return int(self.llm.n_ctx())

    @property
    def size_bytes(self) -> int:
        """The weights in memory: the GGUF file is mapped as it is."""
        return self.path.stat().st_size

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
        tokens = self.chat_tokens(messages)
        return self._generation(tokens, Sampling(max_tokens, temperature, top_p, tuple(stop), seed), "messages")

    def chat_tokens(self, messages: Sequence[Mapping[str, str]]) -> list[int]:
        """A conversation through the model's chat template, as the tokens the model reads."""
        if self._chat is None:
            raise InvalidInput(f"the model {self.name} has no chat template: use /v1/completions", field="messages")
        prompt: str = self._chat(messages=[dict(m) for m in messages]).prompt
        # The template writes the special tokens (<|im_start|>) as text: parse them as tokens.
        tokens: list[int] = self.llm.tokenize(prompt.encode(), add_bos=False, special=True)
        return tokens

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
        tokens = self.llm.tokenize(prompt.encode(), add_bos=True, special=False)
        return self._generation(tokens, Sampling(max_tokens, temperature, top_p, tuple(stop), seed), "prompt")

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

    def _generation(self, tokens: list[int], sampling: Sampling, field: str) -> Generation:
        if sampling.max_tokens < 1:
            raise InvalidInput("max_tokens must be at least 1", field="max_tokens")
        room = self.context_length - len(tokens)
        if room < 1:
            raise InvalidInput(
                f"the prompt has {len(tokens)} tokens; this model reads at most {self.context_length}", field=field
            )
        sampling = dataclasses.replace(sampling, max_tokens=min(sampling.max_tokens, room))
        return Generation(self, tokens, len(tokens), sampling)

    def submit(
        self, inputs: list[int], sampling: Sampling, queue: asyncio.Queue[object], cancel: threading.Event
    ) -> tuple[asyncio.Future[None], _Count]:
        """Queue a generation behind the ones already waiting."""
        with self._counts:
            self.waiting += 1
        loop = asyncio.get_running_loop()
        count = _Count()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = loop.run_in_executor(self.executor, self._generate_blocking, inputs, sampling, put, count, cancel)
        return future, count

    def _generate_blocking(
        self, tokens: list[int], sampling: Sampling, put: Any, count: _Count, cancel: threading.Event
    ) -> None:
        """Runs in the executor's one thread: the only place the model computes."""
        with self._counts:
            self.waiting -= 1
            self.running += 1
        try:
            if not cancel.is_set():  # else the client left while waiting its turn
                self._decode(tokens, sampling, put, count, cancel)
            put(END)
        finally:
            with self._counts:
                self.running -= 1

    def _decode(self, tokens: list[int], sampling: Sampling, put: Any, count: _Count, cancel: threading.Event) -> None:
        # Every generation sets it: a seed one request asked for must not make the next one repeatable.
        self.llm.set_seed(llama_cpp.LLAMA_DEFAULT_SEED if sampling.seed is None else sampling.seed)
        # The whole prompt is read again, not just what differs from the last one: a prompt read in
        # other batches rounds differently, and greedy answers would change from call to call. At
        # hundreds of tokens a second, a prompt costs a fraction of a second.
        self.llm.reset()
        # Bytes to text across token boundaries: one character may span two tokens.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        greedy = sampling.temperature <= 0
        # OpenAI's sampling: temperature and top_p only (no top-k, no min-p, no repeat penalty).
        steps = self.llm.generate(
            tokens,
            temp=0.0 if greedy else sampling.temperature,
            top_p=1.0 if greedy else sampling.top_p,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        for token in steps:
            if llama_cpp.llama_vocab_is_eog(self._vocab, token) or cancel.is_set():
                break
            count.generated += 1
            text = decoder.decode(self.llm.detokenize([token]))
            if text:
                put(text)
            if count.generated >= sampling.max_tokens:
                break
        rest = decoder.decode(b"", final=True)
        if rest:
            put(rest)

    @property
    def _vocab(self) -> Any:
        return llama_cpp.llama_model_get_vocab(self.llm.model)


def _piece(llm: Any, token: int) -> str:
    if token < 0:  # the model has none
        return ""
    piece: bytes = llm.detokenize([token], special=True)
    return piece.decode("utf-8", errors="replace")
