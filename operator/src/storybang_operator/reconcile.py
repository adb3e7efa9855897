"""One reconcile pass per kind: read what the resource depends on, render its children with the
builders, converge them (apply what differs, prune what is no longer rendered) and say what the
status should be. No Kopf here: the handlers call these and map errors to retry intent.

Each function returns the status the resource should have; `status.changes` then tells the
handler which fields, if any, need writing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from storybang_operator import errors, k8s, metrics, observe, pods, profiles, prometheus, queue, specs, status
from storybang_operator.builders import (
    common,
    domainservice,
    generator,
    modelplan,
    modelscaling,
    modelserver,
    platform,
    workerscaling,
)
from storybang_operator.settings import OperatorSettings
from storybang_operator.sleepers import Sleepers, Source

KEDA_CRD = "scaledobjects.keda.sh"
HTTP_ROUTE_CRD = "httproutes.gateway.networking.k8s.io"
HTTP_ROUTE = (platform.GATEWAY_API_VERSION, "HTTPRoute")
# Whether the Platform's public entry point (Ingress or HTTPRoute) is in place.
ROUTED = "Routed"
# What a Prometheus adapter serves; an HPA on a custom metric needs it.
CUSTOM_METRICS_GROUP = "custom.metrics.k8s.io"
AUTOSCALING = "Autoscaling"
KEDA_KINDS = (("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication"))
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
DEPLOYMENT = ("apps/v1", "Deployment")
# Pods whose Events are read for a volume that cannot be attached or mounted, at most, per pass:
# one request each, and only while they wait to be created.
VOLUME_CHECKS = 3

CHILD_KINDS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "Platform": (
        ("v1", "ConfigMap"),
        ("v1", "ServiceAccount"),
        ("networking.k8s.io/v1", "Ingress"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
    ),
    "DomainService": (DEPLOYMENT, ("v1", "Service"), HPA, ("policy/v1", "PodDisruptionBudget")),
    "Generator": (DEPLOYMENT, HPA),
    "ModelServer": (DEPLOYMENT, ("v1", "Service"), ("v1", "PersistentVolumeClaim"), HPA),
}


@dataclasses.dataclass(frozen=True)
class Context:
    """What a pass talks to: the Kubernetes API, Redis, the settings, the metrics and the
    Platforms' Prometheus."""

    api: k8s.Api
    queues: queue.QueueReader
    settings: OperatorSettings
    metrics: metrics.Metrics
    prometheus: prometheus.PrometheusReader = dataclasses.field(
        default_factory=lambda: prometheus.PrometheusReader(timeout=5)
    )
    # The model servers that their passes left at zero, and the queues that would wake them.
    sleepers: Sleepers = dataclasses.field(default_factory=Sleepers)


def _generation(body: common.Body) -> int:
    return int(body.get("metadata", {}).get("generation", 0))


def _previous(body: common.Body) -> Sequence[Mapping[str, Any]]:
    return list(body.get("status", {}).get("conditions", []) or [])


def _platform_of(ctx: Context, owner: specs.Resource, ref: specs.base.Ref) -> specs.Platform:
    found = ctx.api.get(common.API_VERSION, "Platform", owner.namespace, ref.name)
    if found is None:
        raise errors.DependencyNotReady(f"Platform {ref.name} does not exist", reason="PlatformNotFound")
    # Pods name the Platform's ServiceAccount and ConfigMap: until it has made them, a
    # Deployment's pods would be refused (FailedCreate) or could not start.
    conditions: list[dict[str, Any]] = (found.get("status") or {}).get("conditions", [])
    ready = next((c for c in conditions if c.get("type") == status.READY), {})
    if ready.get("status") != "True":
        raise errors.DependencyNotReady(
            f"Platform {ref.name} is not ready: {ready.get('message', 'not reconciled yet')}",
            reason="PlatformNotReady",
        )
    return _dependency(found, specs.Platform, "PlatformNotReady")


def _dependency(body: common.Body, model: type[specs.base.R], reason: str) -> specs.base.R:
    """Another resource, parsed: one whose spec is invalid is not ready for its dependents (its
    own status says why), rather than making them invalid until their own spec changes."""
    try:
        return specs.parse(body, model)
    except errors.InvalidSpec as e:
        name = body.get("metadata", {}).get("name")
        raise errors.DependencyNotReady(
            f"{model.__name__} {name} has an invalid spec: {e.message}", reason=reason
        ) from e


def _converge(
    ctx: Context,
    owner: specs.Resource,
    manifests: Sequence[common.Manifest],
    kinds: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Prune what is gone, then apply what differs; the live children by (kind, name).

    Pruning first removes the autoscaler being replaced before its successor is applied: KEDA's
    admission webhook refuses a ScaledObject for a Deployment that an HPA still scales."""
    deleted = ctx.api.prune(owner.metadata.uid, owner.namespace, kinds, manifests)
    live: dict[tuple[str, str], dict[str, Any]] = {}
    writes = 0
    for manifest in manifests:
        written, obj = ctx.api.ensure(manifest, owner_uid=owner.metadata.uid)
        writes += written
        live[(manifest["kind"], manifest["metadata"]["name"])] = obj
    ctx.metrics.writes.labels(owner.kind).inc(writes + len(deleted))
    return live


def failed(body: common.Body, error: errors.OperatorError) -> dict[str, Any]:
    """The status of a resource whose pass failed: Ready=False with the error's reason."""
    previous = _previous(body)
    ready = status.condition(
        status.READY,
        False,
        error.reason,
        error.message,
        generation=_generation(body),
        previous=previous,
    )
    others = [c for c in previous if c.get("type") != status.READY]
    return {"observedGeneration": _generation(body), "conditions": [ready, *others]}


def reconcile_platform(ctx: Context, body: common.Body) -> dict[str, Any]:
    plat = specs.parse(body, specs.Platform)
    services = []
    for found in ctx.api.list_objects(common.API_VERSION, "DomainService", plat.namespace):
        if found.get("spec", {}).get("platformRef", {}).get("name") != plat.name:
            continue
        # One whose spec is invalid is not routed to; its own status says why.
        with contextlib.suppress(errors.InvalidSpec):
            services.append(specs.parse(found, specs.DomainService))
    # Without the Gateway API's CRDs there is no HTTPRoute to render, nor any to prune: the
    # rest of the platform is in place and the Routed condition says what is missing.
    gateway_api = ctx.api.crd_exists(HTTP_ROUTE_CRD)
    manifests = platform.build(plat, services, gateway_api=gateway_api)
    kinds = CHILD_KINDS["Platform"] + ((HTTP_ROUTE,) if gateway_api else ())
    _converge(ctx, plat, manifests, kinds)
    generation, previous = _generation(body), _previous(body)
    ready = status.condition(
        status.READY,
        True,
        "Applied",
        f"{len(manifests)} children in place",
        generation=generation,
        previous=previous,
    )
    conditions = [ready]
    routed = _routed(plat, manifests, gateway_api=gateway_api)
    if routed is not None:
        conditions.append(status.condition(ROUTED, *routed, generation=generation, previous=previous))
    return {
        "observedGeneration": generation,
        "conditions": conditions,
        "url": platform.public_url(plat),
        "configMapName": platform.configmap_name(plat.name),
        "serviceAccountName": platform.service_account_name(plat.name),
    }


def _routed(
    plat: specs.Platform, manifests: Sequence[common.Manifest], *, gateway_api: bool
) -> tuple[bool, str, str] | None:
    """The Routed condition's (status, reason, message); None without an Ingress or gateway."""
    spec = plat.spec
    kind = "HTTPRoute" if spec.gateway.enabled else "Ingress" if spec.ingress.enabled else None
    if kind is None:
        return None
    if kind == "HTTPRoute" and not gateway_api:
        return (
            False,
            "GatewayAPINotInstalled",
            f"the Gateway API's CRDs ({HTTP_ROUTE_CRD}) are not installed: no HTTPRoute",
        )
    if not any(m["kind"] == kind for m in manifests):
        return False, "NoDomainServices", f"no {kind} yet: no DomainService points at this platform"
    return True, "Routed", f"the {kind} {plat.name} routes to the platform's DomainServices"


def reconcile_domain_service(ctx: Context, body: common.Body) -> dict[str, Any]:
    ds = specs.parse(body, specs.DomainService)
    plat = _platform_of(ctx, ds, ds.spec.platform_ref)
    manifests = domainservice.build(ds, plat)
    live = _converge(ctx, ds, manifests, CHILD_KINDS["DomainService"])
    return _deployment_status(ctx, body, ds, live, domainservice.COMPONENT, domainservice.endpoint(ds))


def readiness_of(
    ctx: Context,
    owner: specs.Resource,
    component: str,
    deployment: Mapping[str, Any] | None,
    loading_seconds: float | None = None,
    *,
    downloading: bool = False,
) -> status.Readiness:
    """A Deployment's readiness, and where it only says "not yet", why its pods are not ready:
    their status, then the Events of the few that wait for their volumes (a model server that
    reports its download's bytes: `Downloading` rather than `Loading`)."""
    readiness = status.deployment_readiness(deployment)
    if deployment is None or readiness.reason not in status.NOT_YET:
        return readiness
    found = ctx.api.list_objects("v1", "Pod", owner.namespace, selector=common.selector_string(owner, component))
    problem = pods.diagnose(found, loading_seconds=loading_seconds)
    if problem is None or problem.rank > pods.VOLUME:
        problem = _volume_problem(ctx, owner.namespace, found) or problem
    if problem is not None and downloading:
        problem = pods.downloading(problem)
    return status.with_pods(readiness, problem)


def _volume_problem(ctx: Context, namespace: str, found: Sequence[Mapping[str, Any]]) -> pods.Problem | None:
    """The first volume problem in the Events of the pods that wait to be created (a few)."""
    waiting = [pod for pod in sorted(found, key=lambda p: str(p["metadata"]["name"])) if pods.waits_for_volumes(pod)]
    for pod in waiting[:VOLUME_CHECKS]:
        about = f"involvedObject.kind=Pod,involvedObject.name={pod['metadata']['name']}"
        problem = pods.volume_problem(pod, ctx.api.list_objects("v1", "Event", namespace, fields=about))
        if problem is not None:
            return problem
    return None


def _deployment_status(
    ctx: Context,
    body: common.Body,
    owner: specs.Resource,
    live: Any,
    component: str,
    endpoint: str,
    *,
    loading_seconds: float | None = None,
    downloading: bool = False,
) -> dict[str, Any]:
    """The status of a resource whose readiness is its one Deployment's (and its pods'); a model
    server `downloading` (its bytes reported) says `Downloading` rather than `Loading`."""
    deployment = live.get(("Deployment", owner.name))
    readiness = readiness_of(ctx, owner, component, deployment, loading_seconds, downloading=downloading)
    ready = status.condition(
        status.READY,
        readiness.ready,
        readiness.reason,
        readiness.message,
        generation=_generation(body),
        previous=_previous(body),
    )
    return {
        "observedGeneration": _generation(body),
        "conditions": [ready],
        "replicas": readiness.replicas,
        "readyReplicas": readiness.ready_replicas,
        "selector": common.selector_string(owner, component),
        "endpoint": endpoint,
    }


def reconcile_generator(ctx: Context, body: common.Body) -> dict[str, Any]:
    gen = specs.parse(body, specs.Generator)
    plat = _platform_of(ctx, gen, gen.spec.platform_ref)
    keda = ctx.api.crd_exists(KEDA_CRD)
    servers = {}
    for server_name in generator.model_server_names(gen):
        server = ctx.api.get(common.API_VERSION, "ModelServer", gen.namespace, server_name)
        if server is not None:
            servers[server_name] = _dependency(server, specs.ModelServer, "BackendNotReady")
    plan = _worker_plan(ctx, gen, plat, keda)
    manifests = generator.build(gen, plat, servers, plan=plan)
    # The HPA is there for Generators rendered by operators before the workers followed the queue.
    kinds = CHILD_KINDS["Generator"] + (KEDA_KINDS if keda else ())
    live = _converge(ctx, gen, manifests, kinds)
    readiness = readiness_of(ctx, gen, generator.COMPONENT, live.get(("Deployment", gen.name)))
    generation, previous = _generation(body), _previous(body)
    key = generator.queue_key(gen.spec.task)
    desired: dict[str, Any] = {
        "observedGeneration": generation,
        "workers": readiness.replicas,
        "readyWorkers": readiness.ready_replicas,
        "autoscaler": plan.autoscaler,
        "queue": key,
    }
    # The workers may be fine while a figure's source is down: its condition says so.
    load, observed = observe.generator_load(
        ctx.queues,
        ctx.prometheus,
        gen,
        plat,
        redis_url=lambda: _redis_url(ctx, plat),
        key=key,
        shown=body.get("status"),
        generation=generation,
        previous=previous,
    )
    desired |= load
    conditions = [
        status.condition(
            status.READY,
            readiness.ready,
            readiness.reason,
            readiness.message,
            generation=generation,
            previous=previous,
        ),
        status.condition(
            AUTOSCALING, plan.observed, plan.reason, plan.message, generation=generation, previous=previous
        ),
        *observed,
    ]
    desired["conditions"] = conditions
    return desired


def _worker_plan(ctx: Context, gen: specs.Generator, plat: specs.Platform, keda: bool) -> workerscaling.Plan:
    """KEDA's plan, or the worker count the operator sets from the queue and the count now."""
    if keda:
        return workerscaling.plan(gen, keda=True, queue_depth=None, current=None)
    live = ctx.api.get(*DEPLOYMENT, gen.namespace, gen.name)
    current = (live or {}).get("spec", {}).get("replicas")
    try:
        depth: int | None = ctx.queues.backlog(_redis_url(ctx, plat), generator.queue_key(gen.spec.task)).depth
    except (errors.ApiError, errors.DependencyNotReady):
        depth = None  # the count stays; QueueObserved says why
    return workerscaling.plan(gen, keda=False, queue_depth=depth, current=current)


def _redis_url(ctx: Context, plat: specs.Platform) -> str:
    redis = plat.spec.datastores.redis
    return ctx.api.read_secret(plat.namespace, redis.secret_name, redis.url_key)


def reconcile_model_server(ctx: Context, body: common.Body) -> dict[str, Any]:
    ms = specs.parse(body, specs.ModelServer)
    profile = profiles.load(ctx.settings.profiles_dir, ms.spec.profile) if ms.spec.profile else None
    plat = _platform_of(ctx, ms, ms.spec.platform_ref) if ms.spec.platform_ref else None
    keda = ctx.api.crd_exists(KEDA_CRD)
    p = modelplan.plan(ms, profile)
    # Only a vLLM server without KEDA's Prometheus trigger asks whether an adapter serves metrics.
    autoscaling = ms.spec.autoscaling
    on_keda = keda and autoscaling is not None and bool(autoscaling.prometheus_address)
    wants_adapter = p.engine == "vllm" and autoscaling is not None and not on_keda
    custom_metrics = wants_adapter and ctx.api.group_served(CUSTOM_METRICS_GROUP)
    demand, idle_since, sources = _demand(ctx, ms, body)
    scaling = modelscaling.decide(ms, p, keda=keda, custom_metrics=custom_metrics, demand=demand)
    if scaling.autoscaler == "Operator" and scaling.replicas == 0:
        ctx.sleepers.asleep((ms.namespace, ms.name), sources)
    else:
        ctx.sleepers.awake((ms.namespace, ms.name))
    manifests = modelserver.build(
        ms,
        profile=profile,
        plat=plat,
        vllm_image=ctx.settings.vllm_image,
        vllm_cpu_image=ctx.settings.vllm_cpu_image,
        keda=keda,
        custom_metrics=custom_metrics,
        demand=demand,
    )
    # With KEDA installed, a ScaledObject left from an earlier spec is pruned as well.
    kinds = CHILD_KINDS["ModelServer"] + (KEDA_KINDS[:1] if keda else ())
    live = _converge(ctx, ms, manifests, kinds)
    load, observed = observe.model_server_load(
        ctx.prometheus, ms, plat, shown=body.get("status"), generation=_generation(body), previous=_previous(body)
    )
    desired = _deployment_status(
        ctx,
        body,
        ms,
        live,
        modelserver.COMPONENT,
        modelserver.endpoint(ms),
        loading_seconds=modelserver.STARTUP_WINDOW_SECONDS,
        downloading=load.get("downloadedBytes") is not None,
    )
    return (
        desired
        | load
        | {
            "model": p.served_name,
            "idleSince": idle_since,
            "conditions": [
                *desired["conditions"],
                status.condition(
                    AUTOSCALING,
                    scaling.scaling,
                    scaling.reason,
                    scaling.message,
                    generation=_generation(body),
                    previous=_previous(body),
                ),
                *observed,
            ],
        }
    )


def _demand(
    ctx: Context, ms: specs.ModelServer, body: common.Body
) -> tuple[modelscaling.Demand | None, str | None, list[Source]]:
    """For a server allowed to scale to zero: the jobs of the Generators whose backends point at it
    (waiting in their queues or held by their workers), since when there has been none (kept in
    status.idleSince, so that the idle period spans passes and operator restarts), and the queues
    read, by Redis URL (what would wake it once at zero)."""
    autoscaling = ms.spec.autoscaling
    if autoscaling is None or autoscaling.min_replicas > 0:
        return None, None, []
    queues: list[str] = []
    sources: list[Source] = []
    jobs: int | None = 0
    for item in ctx.api.list_objects(common.API_VERSION, "Generator", ms.namespace):
        try:
            gen = specs.parse(item, specs.Generator)
        except errors.InvalidSpec:
            continue  # its own status says why; it sends no jobs
        if ms.name not in generator.model_server_names(gen):
            continue
        key = generator.queue_key(gen.spec.task)
        queues.append(key)
        try:
            url = _redis_url(ctx, _platform_of(ctx, gen, gen.spec.platform_ref))
            sources.append((url, key))
            found = ctx.queues.backlog(url, key).depth + ctx.queues.taken(url, key)
            jobs = None if jobs is None else jobs + found
        except (errors.ApiError, errors.DependencyNotReady):
            jobs = None  # the count stays; the Autoscaling condition says why
    live = ctx.api.get(*DEPLOYMENT, ms.namespace, ms.name)
    current = (live or {}).get("spec", {}).get("replicas")
    shown = (body.get("status") or {}).get("idleSince")
    idle_since = (shown or status.now()) if jobs == 0 else None
    idle = 0.0
    if idle_since:
        since = datetime.datetime.fromisoformat(idle_since.replace("Z", "+00:00"))
        idle = (datetime.datetime.now(datetime.UTC) - since).total_seconds()
    return modelscaling.Demand(sorted(set(queues)), jobs, idle, current), idle_since, sources
