"""Generator → Dramatiq worker Deployment and its autoscaler.

The autoscaler is a KEDA ScaledObject on the task's Redis list when KEDA is installed (workers may
then scale to zero), a CPU HorizontalPodAutoscaler with at least one pod otherwise.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from storybang_operator import errors
from storybang_operator.builders import common, modelserver, platform

COMPONENT = "worker"
TASKS = ("story", "image", "describe", "translate")
TASK_LABEL = "storybang.io/task"
# Dramatiq's Redis broker keeps a queue's pending message ids in the list "<namespace>:<queue>",
# and the namespace is "dramatiq" (dramatiq/brokers/redis.py; enqueue.lua LPUSHes there).
QUEUE_PREFIX = "dramatiq:"
# Where a backend's requests go; exactly one per backend (the CRD's CEL rule says the same).
BACKEND_SOURCES = ("modelServerRef", "external", "apertium")
# Seconds between two looks at the queue by KEDA.
KEDA_POLLING_SECONDS = 15


def queue_key(task: str) -> str:
    return f"{QUEUE_PREFIX}{task}"


def task_of(gen: common.Body) -> str:
    task = common.spec_of(gen).get("task")
    if task not in TASKS:
        raise errors.InvalidSpec(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    return str(task)


def model_server_names(gen: common.Body) -> list[str]:
    """The ModelServers the backends point at, in order (the reconciler reads them)."""
    return [
        str(b["modelServerRef"]["name"])
        for b in common.spec_of(gen).get("backends", [])
        if b.get("modelServerRef")
    ]


def backends(
    gen: common.Body, model_servers: Mapping[str, common.Body]
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The ordered backend list the workers read (`STORYBANG_GENERATION__BACKENDS`, no secrets)
    and the API keys as references into their Secrets (`STORYBANG_GENERATION__API_KEYS__<name>`).

    Each entry is `{name, kind, base_url, model}`, the shape of the workers' `BackendSettings`:
    `storybang` for a transformers ModelServer, `openai` for a vLLM one or an external API, and
    `apertium` (name and kind only) for offline translation inside the worker image."""
    spec = common.spec_of(gen)
    entries = spec.get("backends", [])
    if not entries:
        raise errors.InvalidSpec("backends needs at least one entry")
    listed: list[dict[str, str]] = []
    keys: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in entries:
        name = str(entry.get("name", ""))
        if not name or name in seen:
            raise errors.InvalidSpec(f"backend names must be set and unique: {name!r}")
        seen.add(name)
        sources = [k for k in BACKEND_SOURCES if entry.get(k) is not None]
        if len(sources) != 1:
            raise errors.InvalidSpec(
                f"backend {name} must have exactly one of modelServerRef, external and apertium"
            )
        source = sources[0]
        if source == "modelServerRef":
            listed.append(_model_server_backend(name, entry["modelServerRef"], model_servers))
        elif source == "external":
            external = entry["external"]
            listed.append(
                {
                    "name": name,
                    "kind": "openai",
                    "base_url": str(external["baseURL"]),
                    "model": str(external["model"]),
                }
            )
            secret = external.get("apiKeySecretRef")
            if secret:
                keys.append(
                    common.secret_env(
                        f"STORYBANG_GENERATION__API_KEYS__{name}",
                        secret["name"],
                        secret.get("key", "api-key"),
                    )
                )
        else:
            if spec.get("task") != "translate":
                raise errors.InvalidSpec(
                    f"backend {name} is apertium, which only translates; the task must be translate"
                )
            listed.append({"name": name, "kind": "apertium"})
    return listed, keys


def _model_server_backend(
    name: str, ref: Mapping[str, Any], model_servers: Mapping[str, common.Body]
) -> dict[str, str]:
    server = model_servers.get(str(ref["name"]))
    if server is None:
        raise errors.DependencyNotReady(
            f"ModelServer {ref['name']} (backend {name}) does not exist",
            reason="BackendNotFound",
        )
    model = modelserver.served_model(server)
    if not model:
        raise errors.DependencyNotReady(
            f"ModelServer {ref['name']} (backend {name}) has not reported its model yet",
            reason="BackendNotReady",
        )
    # `storybang inference` also serves translations and captions; vLLM is plain OpenAI.
    engine = server.get("spec", {}).get("engine")
    return {
        "name": name,
        "kind": "storybang" if engine == "transformers" else "openai",
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


def scaling(gen: common.Body, keda: bool) -> Scaling:
    """Which autoscaler drives the workers and within what bounds.

    Scale to zero needs KEDA: an HPA cannot wake workers from zero because it has no pod to
    measure. Without KEDA a minimum of 0 becomes 1, and the reason says so."""
    workers = common.spec_of(gen).get("workers", {})
    low, high = int(workers.get("minReplicas", 1)), int(workers.get("maxReplicas", 4))
    if low > high:
        raise errors.InvalidSpec("workers.minReplicas must not exceed workers.maxReplicas")
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
    gen: common.Body,
    plat: common.Body,
    model_servers: Mapping[str, common.Body],
    *,
    keda: bool,
) -> list[common.Manifest]:
    """Render a Generator's children, given its Platform, the ModelServers its backends name and
    whether KEDA's ScaledObject CRD exists in the cluster."""
    spec = common.spec_of(gen)
    task = task_of(gen)
    name = common.name_of(gen)
    listed, key_env = backends(gen, model_servers)
    workers = spec.get("workers", {})
    limits = spec.get("limits", {})
    timeout = int(limits.get("timeoutSeconds", 120))
    extra = {common.PLATFORM_LABEL: common.name_of(plat), TASK_LABEL: task}
    tmp_volume, tmp_mount = common.tmp_volume()
    env = [
        *platform.secret_env(plat),
        common.plain_env("STORYBANG_GENERATION__BACKENDS", json.dumps(listed)),
        *key_env,
        common.plain_env(
            "STORYBANG_GENERATION__MAX_PROMPT_CHARS", str(limits.get("maxPromptChars", 4000))
        ),
        common.plain_env("STORYBANG_GENERATION__MAX_TOKENS", str(limits.get("maxTokens", 1024))),
        common.plain_env("STORYBANG_GENERATION__TIMEOUT_SECONDS", str(timeout)),
        common.plain_env("STORYBANG_WORKER__CONCURRENCY", str(workers.get("concurrency", 4))),
    ]
    container: dict[str, Any] = {
        "name": "worker",
        "image": platform.image(plat, spec.get("image")),
        "imagePullPolicy": platform.pull_policy(plat),
        "command": ["storybang", "worker", "--task", task],
        "ports": [
            {"name": "metrics", "containerPort": common.WORKER_METRICS_PORT, "protocol": "TCP"}
        ],
        "envFrom": [{"configMapRef": {"name": platform.configmap_name(common.name_of(plat))}}],
        "env": env,
        "resources": dict(spec.get("resources", {})),
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
        "terminationGracePeriodSeconds": timeout + 30,
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
                cpu_percent=int(workers.get("targetCPUUtilizationPercentage", 70)),
                extra_labels=extra,
            )
        )
    return children


def build_keda(
    gen: common.Body,
    plat: common.Body,
    task: str,
    low: int,
    high: int,
    extra: dict[str, str],
) -> list[common.Manifest]:
    """A ScaledObject on the Redis list and the TriggerAuthentication that points KEDA at the
    Platform's Redis Secret (KEDA reads it itself; the operator never copies the values)."""
    workers = common.spec_of(gen).get("workers", {})
    redis = common.spec_of(plat).get("datastores", {}).get("redis", {})
    name = common.name_of(gen)
    auth_name = f"{name}-redis"
    secret_refs = [
        {
            "parameter": "address",
            "name": redis["secretName"],
            "key": redis.get("addressKey", "address"),
        }
    ]
    if redis.get("passwordKey"):
        secret_refs.append(
            {"parameter": "password", "name": redis["secretName"], "key": redis["passwordKey"]}
        )
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
                "cooldownPeriod": int(workers.get("cooldownSeconds", 300)),
                "triggers": [
                    {
                        "type": "redis",
                        "metadata": {
                            "listName": queue_key(task),
                            "listLength": str(workers.get("targetQueueDepth", 5)),
                            "activationListLength": "0",
                            "databaseIndex": str(redis.get("databaseIndex", 0)),
                            "enableTLS": "true" if redis.get("tls", False) else "false",
                        },
                        "authenticationRef": {"name": auth_name},
                    }
                ],
            },
        },
    ]
