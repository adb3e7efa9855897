"""vLLM model profiles: one declarative file per model in inference/vllm/ (KServe-runtime style).

A ModelServer names a profile; the reconciler loads it from the directory in the operator's
settings and hands the parsed profile to the builder. Reading a file is the only I/O here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from storybang_operator import errors

# The same pattern as the CRD's spec.profile: a file name, never a path.
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class EnvVar(_Model):
    name: str = Field(min_length=1)
    value: str


class Gpu(_Model):
    count: int = Field(0, ge=0, le=16)


class Resources(_Model):
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}


class ProfileSpec(_Model):
    model: str = Field(min_length=1, description="The Hugging Face repository id.")
    served_name: str | None = None
    tasks: list[Literal["story", "image", "describe", "translate"]] = []
    device: Literal["gpu", "cpu"] = "gpu"
    image: str | None = None
    gpu: Gpu = Gpu()
    args: list[str] = []
    env: list[EnvVar] = []
    resources: Resources = Resources()


class ProfileMeta(_Model):
    name: str


class Profile(_Model):
    api_version: Literal["storybang.io/v1alpha1"]
    kind: Literal["ModelProfile"]
    metadata: ProfileMeta
    spec: ProfileSpec


def parse(text: str, *, name: str) -> Profile:
    """Parse one profile file; `name` is the file's stem, which must match metadata.name."""
    try:
        profile = Profile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as e:
        raise errors.InvalidSpec(f"profile {name} is not valid: {e}", reason="InvalidProfile") from e
    if profile.metadata.name != name:
        raise errors.InvalidSpec(
            f"profile file {name}.yaml is named {profile.metadata.name!r} inside",
            reason="InvalidProfile",
        )
    return profile


def load(directory: Path, name: str) -> Profile:
    if not NAME.match(name):
        raise errors.InvalidSpec(f"profile name {name!r} is not a file name", reason="InvalidProfile")
    path = directory / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
        raise errors.InvalidSpec(f"no vLLM profile {name!r} (known: {known})", reason="ProfileNotFound") from e
    return parse(text, name=name)
