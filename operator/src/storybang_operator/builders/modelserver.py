"""ModelServer → Deployment (vLLM or `storybang inference`), Service, cache PVC, autoscaler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storybang_operator import errors, profiles, specs
from storybang_operator.builders import common, modelplan, modelscaling, platform
from storybang_operator.builders.modelplan import Plan

COMPONENT = "model-server"
CACHE_DIR = "/models/cache"
# Cold starts download weights and compile kernels: up to 30 minutes before liveness counts.
STARTUP_PERIOD_SECONDS = 10
STARTUP_FAILURES = 180
STARTUP_WINDOW_SECONDS = STARTUP_PERIOD_SECONDS * STARTUP_FAILURES
# A first download may take the whole startup window, during which the Deployment sees no
# progress: past its default deadline (10 minutes) it would say ProgressDeadlineExceeded while the
# pod is still loading. The deadline is the window and a margin for pulling the image.
PROGRESS_DEADLINE_SECONDS = STARTUP_WINDOW_SECONDS + 600
# `storybang inference` reads its served model name from this setting (it has no flag for it).
SERVED_NAME_ENV = "STORYBANG_INFERENCE_SERVED_MODEL_NAME"
# Shared memory for vLLM's worker processes (tensor parallelism, NCCL) when the spec sets none.
SHM_SIZE = "2Gi"
CACHE_VOLUME = "cache"


def endpoint(ms: specs.ModelServer) -> str:
    return f"http://{ms.name}.{ms.namespace}.svc:{common.HTTP_PORT}/v1"


def served_model(ms: specs.ModelServer) -> str | None:
    """The model name clients send, as the operator reported it (or as the spec fixes it)."""
    status_model = ms.status.get("model")
    if status_model:
        return str(status_model)
    return ms.spec.model.served_name if ms.spec.model is not None else None


def build(
    ms: specs.ModelServer,
    *,
    profile: profiles.Profile | None,
    plat: specs.Platform | None,
    vllm_image: str,
    vllm_cpu_image: str,
    keda: bool,
    custom_metrics: bool = False,
    demand: modelscaling.Demand | None = None,
) -> list[common.Manifest]:
    """Render a ModelServer's children. `profile` is the loaded profile (when spec.profile is set),
    `plat` the Platform of spec.platformRef (when set), `keda` whether KEDA is installed and
    `custom_metrics` whether the cluster serves the custom metrics API; `demand` the jobs for a
    server that may scale to zero."""
    spec = ms.spec
    p = modelplan.plan(ms, profile)
    scaling = modelscaling.decide(ms, p, keda=keda, custom_metrics=custom_metrics, demand=demand)
    name = ms.name
    extra = {common.PLATFORM_LABEL: plat.name} if plat is not None else {}
    container = (
        _vllm_container(ms, p, vllm_image, vllm_cpu_image)
        if p.engine == "vllm"
        else (_transformers_container(ms, p, plat))
    )
    volumes, mounts = _volumes(ms, p)
    container["volumeMounts"] = mounts
    pod: dict[str, Any] = {
        **(platform.pod_base(plat) if plat is not None else _pod_base()),
        "containers": [container],
        "volumes": volumes,
    }
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in spec.tolerations]
    pod |= _scheduling(ms)
    annotations = (
        platform.pod_annotations(plat, common.HTTP_PORT)
        if plat is not None
        else {"prometheus.io/scrape": "true", "prometheus.io/port": str(common.HTTP_PORT)}
    )
    if p.engine == "vllm":
        # vLLM reads none of the Platform's settings (its ConfigMap is not in the pod): their
        # digest would restart GPU servers, and their model downloads, for changes they never see.
        annotations.pop(platform.CONFIG_HASH_ANNOTATION, None)
    deployment = common.deployment(
        ms,
        name,
        COMPONENT,
        pod_spec=pod,
        replicas=scaling.replicas,
        extra_labels=extra,
        pod_annotations={**spec.pod_annotations, **annotations},
        strategy=_strategy(ms, p),
        progress_deadline_seconds=PROGRESS_DEADLINE_SECONDS,
    )
    template_meta = deployment["spec"]["template"]["metadata"]
    template_meta["labels"] = {**spec.pod_labels, **template_meta["labels"]}
    cache = spec.cache
    children = [
        deployment,
        common.service(
            ms,
            name,
            COMPONENT,
            ports=[{"name": "http", "port": common.HTTP_PORT, "targetPort": "http", "protocol": "TCP"}],
            extra_labels=extra,
        ),
    ]
    if cache.enabled and cache.mode == "shared":
        children.append(_cache_pvc(ms, extra))
    children.extend(modelscaling.build(ms, p, scaling, component=COMPONENT, extra=extra))
    return children


def _pod_base() -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security_context(),
    }


def _scheduling(ms: specs.ModelServer) -> dict[str, Any]:
    """The pod fields a GPU cluster places servers with, as the spec gives them."""
    spec = ms.spec
    pod: dict[str, Any] = {}
    if spec.affinity:
        pod["affinity"] = dict(spec.affinity)
    if spec.priority_class_name:
        pod["priorityClassName"] = spec.priority_class_name
    if spec.runtime_class_name:
        pod["runtimeClassName"] = spec.runtime_class_name
    spread = []
    for constraint in spec.topology_spread_constraints:
        rendered = constraint.model_dump(by_alias=True, exclude_none=True)
        # Without a selector a constraint counts no pods at all: it means the server's own.
        rendered.setdefault("labelSelector", {"matchLabels": common.selector_labels(ms, COMPONENT)})
        spread.append(rendered)
    if spread:
        pod["topologySpreadConstraints"] = spread
    return pod


def _strategy(ms: specs.ModelServer, p: Plan) -> dict[str, Any]:
    """How an update replaces the pods. A surge pod needs what its predecessor holds: a spare GPU
    (rarely there) or a second mount of a single-node cache claim. So one server with either is
    recreated (a short outage rather than a rollout stuck on a pending pod); several GPU servers
    roll one at a time without surge (one fewer serves meanwhile); the others roll one at a time
    with one surge pod (none fewer). The spec refuses several pods on a single-node claim.

    Always explicit: a rollingUpdate the API server defaulted belongs to no field manager, so a
    later apply of Recreate could not remove it and would be refused."""
    several = ms.spec.most_replicas > 1
    if ms.spec.cache.single_node_claim or (p.gpu_count > 0 and not several):
        return {"type": "Recreate"}
    surge = 0 if p.gpu_count > 0 else 1
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 1 - surge}}


def _resources(p: Plan) -> dict[str, Any]:
    resources = {k: dict(v) for k, v in p.resources.items() if v}
    if p.gpu_count > 0:
        resources.setdefault("limits", {})[p.gpu_resource] = p.gpu_count
        resources.setdefault("requests", {})[p.gpu_resource] = p.gpu_count
    return resources


def _env(ms: specs.ModelServer, p: Plan) -> list[dict[str, Any]]:
    env = [
        # The image's user may have no home; caches go to the model cache volume.
        common.plain_env("HOME", "/tmp"),  # noqa: S108 - a per-pod emptyDir
        common.plain_env("HF_HOME", f"{CACHE_DIR}/huggingface"),
        common.plain_env("XDG_CACHE_HOME", f"{CACHE_DIR}/xdg"),
        common.plain_env("HF_HUB_DISABLE_TELEMETRY", "1"),
    ]
    model = ms.spec.model
    token = model.hugging_face.token_secret_ref if model and model.hugging_face else None
    if token is not None:
        env.append(common.secret_env("HF_TOKEN", token.name, token.key))
    env += [common.plain_env(k, v) for k, v in p.env]
    return env


def _vllm_container(ms: specs.ModelServer, p: Plan, image: str, cpu_image: str) -> dict[str, Any]:
    args = [
        p.model_arg,
        f"--served-model-name={p.served_name}",
        "--host=0.0.0.0",
        f"--port={common.HTTP_PORT}",
    ]
    if p.revision:
        args.append(f"--revision={p.revision}")
    if p.gpu_count > 1:
        args.append(f"--tensor-parallel-size={p.gpu_count}")
    args += p.args
    env = [
        *_env(ms, p),
        common.plain_env("VLLM_CACHE_ROOT", f"{CACHE_DIR}/vllm"),
        common.plain_env("VLLM_NO_USAGE_STATS", "1"),
        common.plain_env("DO_NOT_TRACK", "1"),
    ]
    default_image = image if p.device == "gpu" else cpu_image
    return {
        "name": "vllm",
        "image": ms.spec.image or p.image or default_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["vllm", "serve"],
        "args": args,
        "ports": [{"name": "http", "containerPort": common.HTTP_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": _resources(p),
        "securityContext": common.container_security_context(),
        "startupProbe": common.http_probe("/health", "http", period=STARTUP_PERIOD_SECONDS, failures=STARTUP_FAILURES),
        "livenessProbe": common.http_probe("/health", "http", period=15, timeout=5, failures=3),
        "readinessProbe": common.http_probe("/health", "http", period=5, timeout=3, failures=3),
    }


def _transformers_container(ms: specs.ModelServer, p: Plan, plat: specs.Platform | None) -> dict[str, Any]:
    spec = ms.spec
    image = spec.image or (platform.image(plat) if plat is not None else None)
    if image is None:
        raise errors.InvalidSpec("a transformers model server needs an image or a platformRef")
    # The server answers only to its served name (404 for any other): it is told the name the
    # operator reports in status.model, which the Generators send. Its own default differs (the
    # bundled model serves as "smollm2"; a folder as its unlowered base name).
    given = [e for e in _env(ms, p) if e["name"] == SERVED_NAME_ENV]
    if any(e.get("value") != p.served_name for e in given):
        raise errors.InvalidSpec(
            f"env {SERVED_NAME_ENV} differs from the served name {p.served_name!r}: set model.servedName instead"
        )
    env = [
        *[e for e in _env(ms, p) if e["name"] != SERVED_NAME_ENV],
        common.plain_env(SERVED_NAME_ENV, p.served_name),
    ]
    container: dict[str, Any] = {
        "name": "inference",
        "image": image,
        "imagePullPolicy": platform.pull_policy(plat) if plat is not None else "IfNotPresent",
        "command": ["storybang", "inference", "--model", p.model_arg, *p.args],
        "ports": [{"name": "http", "containerPort": common.HTTP_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": _resources(p),
        "securityContext": common.container_security_context(),
        "startupProbe": common.http_probe("/healthz", "http", period=STARTUP_PERIOD_SECONDS, failures=STARTUP_FAILURES),
        "livenessProbe": common.http_probe("/healthz", "http", period=15, timeout=5, failures=3),
        "readinessProbe": common.http_probe("/readyz", "http", period=5, timeout=3, failures=3),
    }
    if plat is not None:
        # `storybang` validates the platform's settings at start, whatever its role.
        container["envFrom"] = [{"configMapRef": {"name": platform.configmap_name(plat.name)}}]
        container["env"] = platform.secret_env(plat) + container["env"]
    return container


def _volumes(ms: specs.ModelServer, p: Plan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tmp_volume, tmp_mount = common.tmp_volume()
    volumes = [tmp_volume, {"name": CACHE_VOLUME, **_cache_source(ms)}]
    mounts = [tmp_mount, {"name": CACHE_VOLUME, "mountPath": CACHE_DIR}]
    shm = ms.spec.shared_memory_size or (SHM_SIZE if p.engine == "vllm" else None)
    if shm is not None:
        volumes.append({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm}})
        mounts.append({"name": "shm", "mountPath": "/dev/shm"})  # noqa: S108 - an emptyDir
    pvc = ms.spec.model.pvc if ms.spec.model is not None else None
    if pvc is not None:
        volumes.append(
            {
                "name": "model",
                "persistentVolumeClaim": {"claimName": pvc.claim_name, "readOnly": True},
            }
        )
        mounts.append({"name": "model", "mountPath": modelplan.SOURCE_DIR, "readOnly": True})
    return volumes, mounts


def _cache_source(ms: specs.ModelServer) -> dict[str, Any]:
    cache = ms.spec.cache
    if not cache.enabled:
        return {"emptyDir": {}}
    if cache.mode == "shared":
        return {"persistentVolumeClaim": {"claimName": cache_claim_name(ms)}}
    # A generic ephemeral volume: Kubernetes makes a claim <pod>-cache with each pod and deletes
    # it with the pod (it is owned by the pod, not by the operator).
    template = {
        "metadata": {"labels": common.selector_labels(ms, COMPONENT)},
        "spec": _claim_spec(ms),
    }
    return {"ephemeral": {"volumeClaimTemplate": template}}


def cache_claim_name(ms: specs.ModelServer) -> str:
    return f"{ms.name}-cache"


def _claim_spec(ms: specs.ModelServer) -> dict[str, Any]:
    cache = ms.spec.cache
    spec: dict[str, Any] = {
        "accessModes": [cache.access_mode],
        "resources": {"requests": {"storage": cache.size}},
    }
    if cache.storage_class_name:
        spec["storageClassName"] = cache.storage_class_name
    return spec


def _cache_pvc(ms: specs.ModelServer, extra: Mapping[str, str]) -> common.Manifest:
    """The shared cache claim. It outlives its ModelServer unless cache.deleteWithServer: without
    an owner reference the garbage collector leaves it, and pruning (which confirms ownership by
    the reference) never deletes it. Its owner-uid label still names the current ModelServer; a
    new one of the same name applies the claim again and so takes it over, downloads included.
    Server-side apply drops the reference when deleteWithServer is turned off, as it adds it when
    turned on."""
    metadata = common.metadata(ms, cache_claim_name(ms), COMPONENT, extra_labels=extra)
    if not ms.spec.cache.delete_with_server:
        del metadata["ownerReferences"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata,
        "spec": _claim_spec(ms),
    }
