"""Stop sequences on streamed text, as OpenAI defines them: the text ends *before* the first stop
sequence, which is never sent, even when it arrives split across several deltas."""

from __future__ import annotations

from collections.abc import Iterable


class StopScanner:
    """Feed deltas in, get back what is safe to send now.

    A tail that could still grow into a stop sequence is held back until the next delta decides it,
    so a client never receives half of a stop sequence.
    """

    def __init__(self, stops: Iterable[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        buffer = self._held + text
        hits = [i for i in (buffer.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            self._held = ""
            return buffer[: min(hits)]
        keep = self._undecided_tail(buffer)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """The text held back, at the end of generation, where it can no longer become a stop."""
        held, self._held = self._held, ""
        return held

    def _undecided_tail(self, buffer: str) -> int:
        longest = max((len(s) for s in self._stops), default=0)
        for size in range(min(len(buffer), longest - 1), 0, -1):
            tail = buffer[-size:]
            if any(s.startswith(tail) for s in self._stops):
                return size
        return 0
