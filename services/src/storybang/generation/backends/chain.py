"""An ordered list of backends for a task, with fallback.

The first backend that answers wins and is named in the job's result. A backend that is down,
cold or unable to do the task falls through to the next; a rejection (bad input) stops the chain.
A chat that already streamed text does not fall through: the job is retried as a whole instead,
so a reader never sees two stories spliced together. A backend that may be starting (a model server
scaled to zero, with ``cold_start_seconds``) is waited for when no backend answers
(:mod:`storybang.generation.warmup`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from storybang.generation import limits, metrics, warmup
from storybang.generation.backends.apertium import ApertiumBackend
from storybang.generation.backends.base import Backend, Cold, Rejected, Unavailable, Unsupported
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


def known_names(task: str, settings: GenerationSettings, *, embedded: bool) -> list[str] | None:
    """The backends a ``task`` job may name, when this process knows them: when they are configured
    here, or in the embedded default. None otherwise (an API pod, whose Generators configure their
    own workers): the worker then refuses an unknown name (:meth:`Chain.run`)."""
    if settings.backends:
        return [c.name for c in settings.backends]
    return [c.name for c in DEFAULTS.get(task, [])] if embedded else None


class AllDown(Unavailable):
    """Every backend was down, cold or unable to do the task; ``tried`` names them in order."""

    def __init__(self, message: str, tried: list[str]) -> None:
        super().__init__(message)
        self.tried = tried


def build(config: BackendSettings, settings: GenerationSettings) -> Backend:
    if config.kind == "apertium":
        return ApertiumBackend(config.name)
    if config.kind == "local":
        from storybang.generation.backends.local import LocalBackend  # needs the inference extra: imported on use

        return LocalBackend(config.name, settings.local_model, settings.local_engine)
    key = settings.api_keys.get(config.name)
    return OpenAIBackend(
        config.name,
        config.base_url,
        config.model,
        api_key=key.get_secret_value() if key else None,
        flavour="storybang" if config.kind == "storybang" else "openai",
    )


class Chain:
    def __init__(self, backends: list[Backend], task: str = "", cold_start: dict[str, int] | None = None) -> None:
        self.backends, self.task = backends, task
        # Seconds each backend may take to start from zero replicas (absent: it is down when it refuses).
        self.cold_start = cold_start or {}
        # How fast each backend streams here: a job's ceiling follows it (storybang.generation.limits).
        self.pace = limits.Pace()

    @classmethod
    def for_task(cls, task: str, settings: GenerationSettings) -> Chain:
        configs = settings.backends or DEFAULTS.get(task, [])
        cold_start = {c.name: c.cold_start_seconds for c in configs if c.cold_start_seconds}
        return cls([build(c, settings) for c in configs], task, cold_start)

    def names(self) -> list[str]:
        return [b.name for b in self.backends]

    async def run(self, call: Callable[[Backend], Awaitable[T]], *, prefer: str | None = None) -> tuple[T, str]:
        """``call`` each backend in order until one answers; returns its answer and name. When none
        answers and some are starting, ask them all again until one answers or their cold starts
        are over."""
        if not self.backends:
            raise NoBackend("no backend is configured for this task")
        if prefer and prefer not in self.names():
            raise Rejected(f"no backend is named {prefer!r}; this task's backends: {', '.join(self.names())}")
        order = sorted(self.backends, key=lambda b: b.name != prefer) if prefer else self.backends
        waiting = warmup.Waiting(self.cold_start)
        while True:
            failures: list[str] = []
            tried: list[str] = []
            starting: list[str] = []
            for backend in order:
                tried.append(backend.name)
                try:
                    return await self._timed(call, backend), backend.name
                except (Unavailable, Unsupported) as e:
                    failures.append(str(e))
                    if isinstance(e, Cold) and waiting.starting(backend.name):
                        starting.append(backend.name)
                    metrics.FALLBACKS.labels(self.task, backend.name).inc()
            if not starting or not await waiting.wait(starting):
                raise AllDown("every backend failed: " + "; ".join(failures), tried)

    async def _timed(self, call: Callable[[Backend], Awaitable[T]], backend: Backend) -> T:
        outcome, started = "error", time.perf_counter()
        try:
            answer = await call(backend)
            outcome = "ok"
            return answer
        except Unavailable:
            outcome = "unavailable"
            raise
        except Unsupported:
            outcome = "unsupported"
            raise
        except Rejected:
            outcome = "rejected"
            raise
        finally:
            metrics.BACKEND_CALLS.labels(self.task, backend.name, outcome).inc()
            metrics.BACKEND_DURATION.labels(self.task, backend.name).observe(time.perf_counter() - started)

    async def close(self) -> None:
        for backend in self.backends:
            await backend.close()
