"""Generator → Dramatiq worker Deployment and its autoscaler.

The autoscaler is a KEDA ScaledObject on the task's Redis list when KEDA is installed (workers may
then scale to zero), a CPU HorizontalPodAutoscaler with at least one pod otherwise.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from storybang_operator import errors, specs
from storybang_operator.builders import common, modelserver, platform

COMPONENT = "worker"
TASK_LABEL = "storybang.io/task"
# Dramatiq's Redis broker keeps a queue's pending message ids in the list "<namespace>:<queue>",
# and the namespace is "dramatiq" (dramatiq/brokers/redis.py; enqueue.lua LPUSHes there).
QUEUE_PREFIX = "dramatiq:"
# Seconds between two looks at the queue by KEDA.
KEDA_POLLING_SECONDS = 15


def queue_key(task: str) -> str:
    return f"{QUEUE_PREFIX}{task}"


def model_server_names(gen: specs.Generator) -> list[str]:
    """The ModelServers the backends point at, in order (the reconciler reads them)."""
    return [b.model_server_ref.name for b in gen.spec.backends if b.model_server_ref is not None]


def backends(
    gen: specs.Generator, model_servers: Mapping[str, specs.ModelServer]
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The ordered backend list the workers read (`STORYBANG_GENERATION__BACKENDS`, no secrets)
    and the API keys as references into their Secrets (`STORYBANG_GENERATION__API_KEYS__<name>`).

    Each entry is `{name, kind, base_url, model}`, the shape of the workers' `BackendSettings`:
    `storybang` for a transformers ModelServer, `openai` for a vLLM one or an external API, and
    `apertium` (name and kind only) for offline translation inside the worker image. The spec
    has checked that names are unique and that each backend has exactly one source."""
    listed: list[dict[str, str]] = []
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
) -> dict[str, str]:
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
    return {
        "name": name,
        "kind": "storybang" if server.spec.engine == "transformers" else "openai",
        "base_url": modelserver.endpoint(server),
        "model": model,
    }


@dataclasses.dataclass(frozen=True)
class Scaling:
    autoscaler: str  # KEDA or HPA
    min_replicas: int
    max_replicas: int
    reason: str
    message: str


def scaling(gen: specs.Generator, keda: bool) -> Scaling:
    """Which autoscaler drives the workers and within what bounds.

    Scale to zero needs KEDA: an HPA cannot wake workers from zero because it has no pod to
    measure. Without KEDA a minimum of 0 becomes 1, and the reason says so."""
    low, high = gen.spec.workers.min_replicas, gen.spec.workers.max_replicas
    if keda:
        return Scaling("KEDA", low, high, "KEDA", "KEDA scales the workers on the queue length")
    if low == 0:
        return Scaling(
            "HPA",
            1,
            high,
            "ScaleToZeroNeedsKEDA",
            "KEDA is not installed: scale to zero is off and one worker stays up",
        )
    return Scaling("HPA", low, high, "HPA", "KEDA is not installed: an HPA scales on CPU")


def build(
    gen: specs.Generator,
    plat: specs.Platform,
    model_servers: Mapping[str, specs.ModelServer],
    *,
    keda: bool,
) -> list[common.Manifest]:
    """Render a Generator's children, given its Platform, the ModelServers its backends name and
    whether KEDA's ScaledObject CRD exists in the cluster."""
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
            replicas=None,  # always driven by an autoscaler
            extra_labels=extra,
            pod_annotations=platform.pod_annotations(plat, common.WORKER_METRICS_PORT),
        )
    ]
    plan = scaling(gen, keda)
    low, high = plan.min_replicas, plan.max_replicas
    if plan.autoscaler == "KEDA":
        children.extend(build_keda(gen, plat, task, low, high, extra))
    else:
        children.append(
            common.cpu_hpa(
                gen,
                name,
                COMPONENT,
                min_replicas=low,
                max_replicas=high,
                cpu_percent=workers.target_cpu_utilization_percentage,
                extra_labels=extra,
            )
        )
    return children


def build_keda(
    gen: specs.Generator,
    plat: specs.Platform,
    task: str,
    low: int,
    high: int,
    extra: dict[str, str],
) -> list[common.Manifest]:
    """A ScaledObject on the Redis list and the TriggerAuthentication that points KEDA at the
    Platform's Redis Secret (KEDA reads it itself; the operator never copies the values)."""
    workers, redis = gen.spec.workers, plat.spec.datastores.redis
    name = gen.name
    auth_name = f"{name}-redis"
    secret_refs = [{"parameter": "address", "name": redis.secret_name, "key": redis.address_key}]
    if redis.password_key:
        secret_refs.append({"parameter": "password", "name": redis.secret_name, "key": redis.password_key})
    return [
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "TriggerAuthentication",
            "metadata": common.metadata(gen, auth_name, COMPONENT, extra_labels=extra),
            "spec": {"secretTargetRef": secret_refs},
        },
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": common.metadata(gen, name, COMPONENT, extra_labels=extra),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicaCount": low,
                "maxReplicaCount": high,
                "pollingInterval": KEDA_POLLING_SECONDS,
                "cooldownPeriod": workers.cooldown_seconds,
                "triggers": [
                    {
                        "type": "redis",
                        "metadata": {
                            "listName": queue_key(task),
                            "listLength": str(workers.target_queue_depth),
                            "activationListLength": "0",
                            "databaseIndex": str(redis.database_index),
                            "enableTLS": "true" if redis.tls else "false",
                        },
                        "authenticationRef": {"name": auth_name},
                    }
                ],
            },
        },
    ]
