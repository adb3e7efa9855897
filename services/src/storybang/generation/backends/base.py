"""The backend interface: what a generator asks of a model, whatever serves it.

A backend implements the capabilities it has (``chat``, ``translate``, ``describe``, ``draw``) and
raises :class:`Unsupported` for the others. :class:`Unavailable` means "down, cold or overloaded:
try the next backend or later"; :class:`Rejected` means the request itself is unacceptable and no
retry will help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

OnDelta = Callable[[str], Awaitable[None]]


class BackendError(Exception):
    pass


class Unavailable(BackendError):
    """Down, cold, timing out or overloaded: the next backend, or a retry later, may succeed."""


class Cold(Unavailable):
    """Nothing answers yet (connection refused, 503): a server scaled to zero may be starting."""


class Rejected(BackendError):
    """The backend refused the request as invalid: retrying cannot help."""


class Unsupported(BackendError):
    """This backend cannot do this task at all."""


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int


class Backend(Protocol):
    name: str

    async def chat(
        self, messages: list[Message], *, max_tokens: int, temperature: float, on_delta: OnDelta | None = None
    ) -> Completion: ...

    async def translate(self, text: str, *, source: str, target: str) -> str: ...

    async def describe(self, image: bytes, content_type: str) -> str: ...

    async def draw(self, prompt: str, *, size: str) -> bytes: ...

    async def close(self) -> None: ...


class TextOnly:
    """Mix-in for backends that only chat: the other capabilities are unsupported."""

    name: str

    async def translate(self, text: str, *, source: str, target: str) -> str:
        raise Unsupported(f"{self.name} does not translate")

    async def describe(self, image: bytes, content_type: str) -> str:
        raise Unsupported(f"{self.name} does not describe images")

    async def draw(self, prompt: str, *, size: str) -> bytes:
        raise Unsupported(f"{self.name} does not draw")

    async def close(self) -> None:
        return None
