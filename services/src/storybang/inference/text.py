"""What every text engine shares: a generation as an async iterator of text deltas, its usage and
finish reason, and the interface the routes and `storybang dev` call (:class:`TextModel`).

No torch here: the llama.cpp engine (:mod:`storybang.inference.llama`) starts in a fraction of a
second, and importing torch would add seconds to the first story of `storybang dev`.

Each engine computes in one thread of its own and hands text to the event loop through an asyncio
queue: ``str`` items, then :data:`END` (or the exception that ended it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

from storybang.inference.stops import StopScanner

FinishReason = Literal["stop", "length"]

# Put in the queue after the last text of a generation.
END = object()


class Usage(NamedTuple):
    """Token counts, as OpenAI reports them; unpacks as ``(prompt_tokens, completion_tokens)``."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def generate_kwargs(self) -> dict[str, Any]:
        # OpenAI's temperature 0 means greedy. top_k=0 switches off transformers' default top-50,
        # which OpenAI's API does not have.
        if self.temperature <= 0:
            return {"do_sample": False}
        return {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p, "top_k": 0}


class Counted(Protocol):
    """What an engine's worker thread counts as it goes: the new tokens so far."""

    generated: int


class Engine(Protocol):
    """The part of a model that :class:`Generation` drives."""

    last_usage: Usage | None

    def submit(
        self,
        inputs: Any,
        sampling: Sampling,
        queue: asyncio.Queue[object],
        cancel: threading.Event,
    ) -> tuple[asyncio.Future[None], Counted]:
        """Queue a generation behind the ones already waiting; text goes into ``queue``."""
        ...


class Generation:
    """An async iterator of text deltas; ``usage`` and ``finish_reason`` are final once it ends.

    Generation starts on the first ``__anext__`` and stops early on :meth:`cancel`, on a stop
    sequence, or when the consumer is cancelled while waiting.
    """

    def __init__(self, model: Engine, inputs: Any, prompt_tokens: int, sampling: Sampling) -> None:
        self._model, self._inputs, self._sampling = model, inputs, sampling
        self.prompt_tokens = prompt_tokens
        self.finish_reason: FinishReason | None = None
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._cancel = threading.Event()
        self._stops = StopScanner(sampling.stop)
        self._counted: Counted | None = None
        self._future: asyncio.Future[None] | None = None
        self._done = False

    @property
    def usage(self) -> Usage:
        return Usage(self.prompt_tokens, self._counted.generated if self._counted else 0)

    def cancel(self) -> None:
        self._cancel.set()

    async def text(self) -> tuple[str, Usage]:
        """The whole reply and its usage, once the model has finished it."""
        text = "".join([delta async for delta in self])
        return text, self.usage

    async def aclose(self) -> None:
        self.cancel()

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        if self._counted is None:
            self._start()
        while not self._done:
            try:
                item = await self._queue.get()
            except BaseException:
                self.cancel()
                raise
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if item is END:
                # The model is free only once its worker has returned, a moment after its last text.
                assert self._future is not None
                await self._future
                return self._finish(self._stops.flush(), stopped=False)
            text = self._stops.feed(str(item))
            if self._stops.stopped:
                self.cancel()
                return self._finish(text, stopped=True)
            if text:
                return text
        raise StopAsyncIteration

    def _finish(self, text: str, *, stopped: bool) -> str:
        self._done = True
        hit_limit = self.usage.completion_tokens >= self._sampling.max_tokens
        self.finish_reason = "length" if hit_limit and not stopped else "stop"
        self._model.last_usage = self.usage
        if text:
            return text
        raise StopAsyncIteration

    def _start(self) -> None:
        future, self._counted = self._model.submit(self._inputs, self._sampling, self._queue, self._cancel)
        self._future = future

        def report_failure(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                self._queue.put_nowait(done.exception())

        future.add_done_callback(report_failure)


class TextModel(Protocol):
    """A text model in this process, whichever engine runs it: what the routes and the embedded
    default call."""

    name: str
    engine: str
    waiting: int
    running: int
    last_usage: Usage | None

    @property
    def context_length(self) -> int: ...

    @property
    def device_name(self) -> str: ...

    def stream_chat(
        self,
        messages: Sequence[Mapping[str, str]],
        max_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Generation: ...

    def stream_completion(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Generation: ...
