"""An ordered list of backends for a task, with fallback.

The first backend that answers wins and is named in the job's result. A backend that is down,
cold or unable to do the task falls through to the next; a rejection (bad input) stops the chain.
A chat that already streamed text does not fall through: the job is retried as a whole instead,
so a reader never sees two stories spliced together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from storybang.generation.backends.apertium import ApertiumBackend
from storybang.generation.backends.base import Backend, Unavailable, Unsupported
from storybang.generation.backends.openai import OpenAIBackend
from storybang.settings import BackendSettings, GenerationSettings

T = TypeVar("T")

# Used when no backend is configured (the embedded default): the bundled model, and Apertium
# first for translations because it is fast and exact about paragraph breaks.
DEFAULTS: dict[str, list[BackendSettings]] = {
    "story": [BackendSettings(name="local", kind="local")],
    "translate": [BackendSettings(name="apertium", kind="apertium"), BackendSettings(name="local", kind="local")],
    "describe": [],
    "image": [],
}


class NoBackend(Exception):
    pass


def build(config: BackendSettings, settings: GenerationSettings) -> Backend:
    if config.kind == "apertium":
        return ApertiumBackend(config.name)
    if config.kind == "local":
        from storybang.generation.backends.local import LocalBackend  # needs torch: imported on use

        return LocalBackend(config.name, settings.local_model)
    key = settings.api_keys.get(config.name)
    return OpenAIBackend(
        config.name,
        config.base_url,
        config.model,
        api_key=key.get_secret_value() if key else None,
        flavour="storybang" if config.kind == "storybang" else "openai",
    )


class Chain:
    def __init__(self, backends: list[Backend]) -> None:
        self.backends = backends

    @classmethod
    def for_task(cls, task: str, settings: GenerationSettings) -> Chain:
        configs = settings.backends or DEFAULTS.get(task, [])
        return cls([build(c, settings) for c in configs])

    def names(self) -> list[str]:
        return [b.name for b in self.backends]

    async def run(self, call: Callable[[Backend], Awaitable[T]], *, prefer: str | None = None) -> tuple[T, str]:
        """``call`` each backend in order until one answers; returns its answer and name."""
        if not self.backends:
            raise NoBackend("no backend is configured for this task")
        order = sorted(self.backends, key=lambda b: b.name != prefer) if prefer else self.backends
        failures: list[str] = []
        for backend in order:
            try:
                return await call(backend), backend.name
            except (Unavailable, Unsupported) as e:
                failures.append(str(e))
        raise Unavailable("every backend failed: " + "; ".join(failures))

    async def close(self) -> None:
        for backend in self.backends:
            await backend.close()
