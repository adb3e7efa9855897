"""Generator → Dramatiq worker Deployment and what scales it (`workerscaling`): a KEDA
ScaledObject on the task's Redis list when KEDA is installed (workers may then scale to zero),
else the operator itself, from the same list's length.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from storybang_operator import errors, specs
from storybang_operator.builders import common, modelserver, platform, workerscaling

COMPONENT = workerscaling.COMPONENT
TASK_LABEL = "storybang.io/task"
queue_key = workerscaling.queue_key
# How long a job waits for a model server scaled to zero: the operator waking it (at once, or at
# its next pass if the enqueue's announcement was missed), scheduling the pod and loading a model
# that is cached on its volume.
COLD_START_SECONDS = 600


def model_server_names(gen: specs.Generator) -> list[str]:
    """The ModelServers the backends point at, in order (the reconciler reads them)."""
    return [b.model_server_ref.name for b in gen.spec.backends if b.model_server_ref is not None]


def backends(
    gen: specs.Generator, model_servers: Mapping[str, specs.ModelServer]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ordered backend list the workers read (`STORYBANG_GENERATION__BACKENDS`, no secrets)
    and the API keys as references into their Secrets (`STORYBANG_GENERATION__API_KEYS__<name>`).

    Each entry is `{name, kind, base_url, model}`, the shape of the workers' `BackendSettings`:
    `storybang` for a transformers ModelServer, `openai` for a vLLM one or an external API, and
    `apertium` (name and kind only) for offline translation inside the worker image. The spec
    has checked that names are unique and that each backend has exactly one source."""
    listed: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for entry in gen.spec.backends:
        name = entry.name
        if entry.model_server_ref is not None:
            listed.append(_model_server_backend(name, entry.model_server_ref, model_servers))
        elif entry.external is not None:
            external = entry.external
            listed.append(
                {
                    "name": name,
                    "kind": "openai",
                    "base_url": external.base_url,
                    "model": external.model,
                }
            )
            secret = external.api_key_secret_ref
            if secret is not None:
                keys.append(common.secret_env(f"STORYBANG_GENERATION__API_KEYS__{name}", secret.name, secret.key))
        else:
            listed.append({"name": name, "kind": "apertium"})
    return listed, keys


def _model_server_backend(
    name: str, ref: specs.base.Ref, model_servers: Mapping[str, specs.ModelServer]
) -> dict[str, Any]:
    server = model_servers.get(ref.name)
    if server is None:
        raise errors.DependencyNotReady(
            f"ModelServer {ref.name} (backend {name}) does not exist",
            reason="BackendNotFound",
        )
    model = modelserver.served_model(server)
    if not model:
        raise errors.DependencyNotReady(
            f"ModelServer {ref.name} (backend {name}) has not reported its model yet",
            reason="BackendNotReady",
        )
    # `storybang inference` also serves translations and captions; vLLM is plain OpenAI.
    backend: dict[str, Any] = {
        "name": name,
        "kind": "storybang" if server.spec.engine == "transformers" else "openai",
        "base_url": modelserver.endpoint(server),
        "model": model,
    }
    autoscaling = server.spec.autoscaling
    if autoscaling is not None and autoscaling.min_replicas == 0:
        # A job that finds it scaled to zero waits for it (storybang.generation.warmup) instead of failing.
        backend["cold_start_seconds"] = COLD_START_SECONDS
    return backend


def build(
    gen: specs.Generator,
    plat: specs.Platform,
    model_servers: Mapping[str, specs.ModelServer],
    *,
    plan: workerscaling.Plan,
) -> list[common.Manifest]:
    """Render a Generator's children, given its Platform, the ModelServers its backends name and
    the workers' plan (`workerscaling.plan`: KEDA's, or a count set by the operator)."""
    spec = gen.spec
    task, name = spec.task, gen.name
    listed, key_env = backends(gen, model_servers)
    workers, limits = spec.workers, spec.limits
    extra = {common.PLATFORM_LABEL: plat.name, TASK_LABEL: task}
    tmp_volume, tmp_mount = common.tmp_volume()
    env = [
        *platform.secret_env(plat),
        common.plain_env("STORYBANG_GENERATION__BACKENDS", json.dumps(listed)),
        *key_env,
        common.plain_env("STORYBANG_GENERATION__MAX_PROMPT_CHARS", str(limits.max_prompt_chars)),
        common.plain_env("STORYBANG_GENERATION__MAX_TOKENS", str(limits.max_tokens)),
        common.plain_env("STORYBANG_GENERATION__TIMEOUT_SECONDS", str(limits.timeout_seconds)),
        common.plain_env("STORYBANG_WORKER__CONCURRENCY", str(workers.concurrency)),
    ]
    container: dict[str, Any] = {
        "name": "worker",
        "image": platform.image(plat, spec.image),
        "imagePullPolicy": platform.pull_policy(plat),
        "command": ["storybang", "worker", "--task", task],
        "ports": [{"name": "metrics", "containerPort": common.WORKER_METRICS_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": platform.configmap_name(plat.name)}}],
        "env": env,
        "resources": spec.resources.manifest(),
        "securityContext": common.container_security_context(),
        "livenessProbe": common.http_probe("/healthz", "metrics", period=15, failures=4),
        "readinessProbe": common.http_probe("/readyz", "metrics", period=10, failures=3),
        "startupProbe": common.http_probe("/healthz", "metrics", period=5, failures=24),
        "volumeMounts": [tmp_mount],
    }
    pod = {
        **platform.pod_base(plat),
        "containers": [container],
        "volumes": [tmp_volume],
        # Dramatiq finishes the messages in hand on SIGTERM; give the longest job time to end.
        "terminationGracePeriodSeconds": limits.timeout_seconds + 30,
    }
    children = [
        common.deployment(
            gen,
            name,
            COMPONENT,
            pod_spec=pod,
            replicas=plan.replicas,
            extra_labels=extra,
            pod_annotations=platform.pod_annotations(plat, common.WORKER_METRICS_PORT),
        )
    ]
    if plan.autoscaler == "KEDA":
        children.extend(workerscaling.build_keda(gen, plat, plan, extra))
    return children
