"""What a ModelServer runs, after merging its spec over its vLLM profile: the model to load, the
name clients send, GPUs, arguments, environment and resources. Pure; the builder renders it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from storybang_operator import errors, profiles
from storybang_operator.builders import common

DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"
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


def plan(ms: common.Body, profile: profiles.Profile | None) -> Plan:
    spec = common.spec_of(ms)
    engine = spec.get("engine")
    if engine not in ("vllm", "transformers"):
        raise errors.InvalidSpec(f"engine must be vllm or transformers, not {engine!r}")
    if profile is not None and engine != "vllm":
        raise errors.InvalidSpec("profiles are vLLM profiles; engine must be vllm")
    model = spec.get("model")
    if not model and profile is None:
        raise errors.InvalidSpec(
            "a vllm model server needs a profile or a model"
            if engine == "vllm"
            else "a transformers model server needs a model"
        )
    revision = None
    if model:
        sources = [k for k in ("huggingFace", "pvc", "bundled") if model.get(k)]
        if len(sources) != 1:
            raise errors.InvalidSpec(
                "a model has exactly one source of huggingFace, pvc and bundled"
            )
        source = sources[0]
        if source == "huggingFace":
            model_arg = str(model["huggingFace"]["id"])
            revision = model["huggingFace"].get("revision")
            default_name = model_arg.rsplit("/", 1)[-1].lower()
        elif source == "pvc":
            path = str(model["pvc"].get("path", "")).strip("/")
            if ".." in path.split("/"):
                raise errors.InvalidSpec("model.pvc.path must stay inside the volume")
            model_arg = f"{SOURCE_DIR}/{path}" if path else SOURCE_DIR
            default_name = (path.rsplit("/", 1)[-1] or str(model["pvc"]["claimName"])).lower()
        else:
            if engine != "transformers":
                raise errors.InvalidSpec(
                    "a bundled model is served by the transformers engine only"
                )
            model_arg = default_name = str(model["bundled"]["name"])
        served = str(model.get("servedName") or default_name)
    else:
        assert profile is not None  # checked above
        model_arg = profile.spec.model
        served = profile.spec.served_name or model_arg.rsplit("/", 1)[-1].lower()
    gpu = spec.get("gpu", {})
    gpu_count = int(gpu["count"]) if "count" in gpu else (profile.spec.gpu.count if profile else 0)
    resources = spec.get("resources") or (
        profile.spec.resources.model_dump() if profile else DEFAULT_RESOURCES
    )
    env = [(e.name, e.value) for e in profile.spec.env] if profile else []
    env += [(str(e["name"]), str(e.get("value", ""))) for e in spec.get("env", [])]
    return Plan(
        engine=str(engine),
        model_arg=model_arg,
        served_name=served,
        revision=revision,
        gpu_count=gpu_count,
        gpu_resource=str(gpu.get("resourceName", DEFAULT_GPU_RESOURCE)),
        device="gpu" if gpu_count > 0 else (profile.spec.device if profile else "cpu"),
        args=(*(profile.spec.args if profile else ()), *map(str, spec.get("args", []))),
        env=tuple(env),
        resources=resources,
        image=profile.spec.image if profile else None,
    )
