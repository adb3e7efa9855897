"""The Generator's spec: the task, its ordered backends, the workers and the per-job limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from storybang_operator.specs.base import Ref, Resource, Resources, Spec

Task = Literal["story", "image", "describe", "translate"]


class ApiKeyRef(Spec):
    name: str
    key: str = "api-key"


class External(Spec):
    base_url: str = Field(alias="baseURL")
    model: str
    api_key_secret_ref: ApiKeyRef | None = None


class Apertium(Spec):
    """Offline translation inside the worker image: nothing to configure."""


class Backend(Spec):
    name: str = Field(min_length=1)
    model_server_ref: Ref | None = None
    external: External | None = None
    apertium: Apertium | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Backend:
        sources = [self.model_server_ref, self.external, self.apertium]
        if sum(s is not None for s in sources) != 1:
            raise ValueError(f"backend {self.name} must have exactly one of modelServerRef, external and apertium")
        return self


class Workers(Spec):
    min_replicas: int = 1
    max_replicas: int = 4
    concurrency: int = 4
    target_queue_depth: int = 5
    target_cpu_utilization_percentage: int = Field(70, alias="targetCPUUtilizationPercentage")
    cooldown_seconds: int = 300

    @model_validator(mode="after")
    def _bounds(self) -> Workers:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self


class Limits(Spec):
    max_prompt_chars: int = 4000
    max_tokens: int = 4096
    timeout_seconds: int = 120


class GeneratorSpec(Spec):
    platform_ref: Ref
    task: Task
    image: str | None = None
    backends: list[Backend]
    workers: Workers = Workers()
    limits: Limits = Limits()
    resources: Resources = Resources(requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "1Gi"})

    @model_validator(mode="after")
    def _backends(self) -> GeneratorSpec:
        if not self.backends:
            raise ValueError("backends needs at least one entry")
        names = [b.name for b in self.backends]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"backend names must be unique: {', '.join(twice)}")
        for backend in self.backends:
            if backend.apertium is not None and self.task != "translate":
                raise ValueError(
                    f"backend {backend.name} is apertium, which only translates; the task must be translate"
                )
        return self


class Generator(Resource):
    kind: Literal["Generator"] = "Generator"
    spec: GeneratorSpec
