"""The bridge from ``generate()`` in its thread to the event loop: text deltas into an asyncio queue,
and a stop signal back."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import torch
from transformers import StoppingCriteria, TextStreamer

from storybang.inference.text import END


class TokenStreamer(TextStreamer):  # type: ignore[misc, unused-ignore]  # Any without torch installed
    """TextIteratorStreamer's word-at-a-time decoding, delivered into an asyncio queue (so the event
    loop awaits text instead of blocking a thread on ``queue.get``), and counting the new tokens."""

    def __init__(self, tokenizer: Any, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object]) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._loop, self._queue = loop, queue
        self.generated = 0

    def put(self, value: torch.Tensor) -> None:
        if not self.next_tokens_are_prompt:
            self.generated += int(value.numel())
        super().put(value)  # type: ignore[no-untyped-call, unused-ignore]

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, text)
        if stream_end:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, END)


class StopOnEvent(StoppingCriteria):  # type: ignore[misc, unused-ignore]
    """Stops generation when the client has gone or a stop sequence was met: no wasted tokens."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **_: Any) -> torch.BoolTensor:
        stop = torch.full((input_ids.shape[0],), self._event.is_set(), dtype=torch.bool, device=input_ids.device)
        return stop  # type: ignore[return-value, unused-ignore]  # BoolTensor is a typing alias of Tensor
