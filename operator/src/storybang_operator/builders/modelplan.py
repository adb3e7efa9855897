"""What a ModelServer runs, after merging its spec over its vLLM profile: the model to load, the
name clients send, GPUs, arguments, environment and resources. Pure; the builder renders it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from storybang_operator import profiles, specs

# Where a model on a PersistentVolumeClaim is mounted (read-only).
SOURCE_DIR = "/models/source"
# vLLM's CPU and transformers defaults when neither the resource nor the profile says.
DEFAULT_RESOURCES: Mapping[str, Mapping[str, str]] = {
    "requests": {"cpu": "1", "memory": "2Gi"},
    "limits": {"memory": "4Gi"},
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What to run, after merging the ModelServer's spec over its profile."""

    engine: str
    model_arg: str  # what the server loads: a Hub id or a path
    served_name: str
    revision: str | None
    gpu_count: int
    gpu_resource: str
    device: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    resources: Mapping[str, Mapping[str, Any]]
    image: str | None


def plan(ms: specs.ModelServer, profile: profiles.Profile | None) -> Plan:
    """The spec has checked that the engine, the profile and the model's one source fit."""
    spec = ms.spec
    model = spec.model
    revision = None
    if model is not None:
        if model.hugging_face is not None:
            model_arg = model.hugging_face.id
            revision = model.hugging_face.revision
            default_name = model_arg.rsplit("/", 1)[-1].lower()
        elif model.pvc is not None:
            path = model.pvc.path.strip("/")
            model_arg = f"{SOURCE_DIR}/{path}" if path else SOURCE_DIR
            default_name = (path.rsplit("/", 1)[-1] or model.pvc.claim_name).lower()
        else:
            assert model.bundled is not None  # one source of three
            model_arg = default_name = model.bundled.name
        served = model.served_name or default_name
    else:
        assert profile is not None  # a model or a profile
        model_arg = profile.spec.model
        served = profile.spec.served_name or model_arg.rsplit("/", 1)[-1].lower()
    gpu_count = spec.gpu.count
    if gpu_count is None:
        gpu_count = profile.spec.gpu.count if profile else 0
    given = spec.resources.manifest() if spec.resources is not None else {}
    resources = given or (profile.spec.resources.model_dump() if profile else DEFAULT_RESOURCES)
    env = [(e.name, e.value) for e in profile.spec.env] if profile else []
    env += [(e.name, e.value) for e in spec.env]
    return Plan(
        engine=spec.engine,
        model_arg=model_arg,
        served_name=served,
        revision=revision,
        gpu_count=gpu_count,
        gpu_resource=spec.gpu.resource_name,
        device="gpu" if gpu_count > 0 else (profile.spec.device if profile else "cpu"),
        args=(*(profile.spec.args if profile else ()), *spec.args),
        env=tuple(env),
        resources=resources,
        image=profile.spec.image if profile else None,
    )
