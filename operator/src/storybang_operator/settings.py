"""The operator's settings: one object, read from `STORYBANG_OPERATOR_*` variables at start.

Nothing else in the package reads the environment; the start-up handler loads these once, when
the operator starts (not when the package is imported), and checks the profile directory. A
`STORYBANG_OPERATOR_*` name that no setting reads stops the start, naming the closest valid one.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYBANG_OPERATOR_", frozen=True)

    # Outside a pod: the kubeconfig file(s) to connect with (the usual variable, read at start).
    kubeconfig: str | None = Field(None, validation_alias="KUBECONFIG")
    # The operator image carries inference/vllm/ here (docker/operator.Dockerfile copies it in at
    # build time: nothing is mounted); tests point it at the repository's folder.
    profiles_dir: Path = Path("/etc/storybang/vllm-profiles")
    # How often every resource is re-rendered and compared with what is live: this is what
    # repairs drift and recreates children deleted by hand. A converged resource costs reads only.
    resync_seconds: float = Field(30.0, ge=1.0)
    # The first pass after a change waits this long, so a burst of edits is rendered once.
    resync_initial_delay_seconds: float = Field(5.0, ge=0.0)
    # Resources reconciled at once by the resync queue (each pass is a few API requests).
    resync_workers: int = Field(4, ge=1, le=64)
    # 0 turns the metrics endpoint off (several operators in one test process share no port).
    metrics_port: int = Field(9090, ge=0, le=65535)
    # Peering (one active operator among several pods) is on when more than one replica runs.
    replicas: int = Field(1, ge=1)
    peering_name: str = "storybang-operator"
    # Kopf waits forever on a silent watch by default; a dropped connection would then go unseen.
    watch_server_timeout_seconds: int = Field(270, ge=10)
    watch_client_timeout_seconds: int = Field(300, ge=10)
    watch_connect_timeout_seconds: int = Field(30, ge=1)
    api_timeout_seconds: float = Field(30.0, gt=0)
    # KEDA (and the Gateway API) rarely comes or goes; asking the API server once every few
    # minutes is enough.
    keda_check_seconds: float = Field(300.0, ge=0)
    redis_timeout_seconds: float = Field(3.0, gt=0)
    # A pass waits this long at most for each figure of a Platform's Prometheus.
    prometheus_timeout_seconds: float = Field(5.0, gt=0)
    vllm_image: str = "vllm/vllm-openai:v0.33.0"
    # vLLM's CUDA image does not run without a GPU; profiles with `device: cpu` use this build.
    vllm_cpu_image: str = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.33.0"
    # How long a transient failure (API server, Redis) waits before the next attempt.
    retry_delay_seconds: float = Field(15.0, ge=1.0)

    @property
    def peering(self) -> bool:
        return self.replicas > 1


class UnknownSettings(ValueError):
    """``STORYBANG_OPERATOR_*`` variables that no setting reads: pydantic-settings would pass over
    them in silence, and a misspelt one would leave its default in place."""


def unknown(environ: Iterable[str]) -> list[str]:
    """A line for each ``STORYBANG_OPERATOR_*`` name of ``environ`` that no setting reads, with the
    closest valid name when one is close."""
    prefix = str(OperatorSettings.model_config.get("env_prefix", "")).upper()
    known = {
        prefix + name.upper()
        for name, field in OperatorSettings.model_fields.items()
        if field.validation_alias is None  # read under its own name (KUBECONFIG), not the prefix
    }
    tails = {k.removeprefix(prefix): k for k in known}
    lines = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(prefix) or upper in known:
            continue
        close = difflib.get_close_matches(upper.removeprefix(prefix), sorted(tails), n=1, cutoff=0.75)
        hint = f"did you mean {tails[close[0]]}?" if close else "no operator setting is called that"
        lines.append(f"unknown setting {name}: {hint}")
    return lines


def load() -> OperatorSettings:
    """The settings from the environment; UnknownSettings or pydantic's ValidationError (both
    ValueErrors) when a name or a value is wrong."""
    problems = unknown(os.environ)
    if problems:
        raise UnknownSettings("; ".join(problems))
    return OperatorSettings()
