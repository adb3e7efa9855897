"""DomainService → Deployment, Service, PodDisruptionBudget, and an HPA when autoscaling is set."""

from __future__ import annotations

from typing import Any

from storybang_operator import specs
from storybang_operator.builders import common, platform

COMPONENT = "domain-service"
# With no rule in the spec, a node drain may take down one pod at a time.
DEFAULT_MAX_UNAVAILABLE = 1


def command(domain: str) -> list[str]:
    if domain == "notifier":
        return ["storybang", "notifier"]
    return ["storybang", "serve", "--domain", domain]


def endpoint(ds: specs.DomainService) -> str:
    return f"http://{ds.name}.{ds.namespace}.svc:{common.HTTP_PORT}"


def build(ds: specs.DomainService, plat: specs.Platform) -> list[common.Manifest]:
    """Render the children of a DomainService, given the Platform it points at."""
    spec = ds.spec
    domain = spec.domain
    name = ds.name
    extra = {common.PLATFORM_LABEL: plat.name, common.DOMAIN_LABEL: domain}
    tmp_volume, tmp_mount = common.tmp_volume()
    container: dict[str, Any] = {
        "name": "service",
        "image": platform.image(plat, spec.image),
        "imagePullPolicy": platform.pull_policy(plat),
        "command": command(domain),
        "ports": [{"name": "http", "containerPort": common.HTTP_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": platform.configmap_name(plat.name)}}],
        "env": platform.secret_env(plat),
        "resources": spec.resources.manifest(),
        "securityContext": common.container_security_context(),
        "livenessProbe": common.http_probe("/healthz", "http", period=10, failures=3),
        "readinessProbe": common.http_probe("/readyz", "http", period=5, failures=3),
        # A slow first connection to the datastores must not count against liveness.
        "startupProbe": common.http_probe("/healthz", "http", period=5, failures=24),
        "volumeMounts": [tmp_mount],
    }
    pod: dict[str, Any] = {
        **platform.pod_base(plat),
        "containers": [container],
        "volumes": [tmp_volume],
        # Spread replicas so that one node going away leaves the service up.
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": common.selector_labels(ds, COMPONENT)},
            }
        ],
    }
    if domain == "identity":
        # The identity service owns the SQL schema: bring it up to date before serving.
        # Migrations are idempotent; a replica that loses a race restarts and finds them done.
        pod["initContainers"] = [
            {
                **{k: v for k, v in container.items() if not k.endswith("Probe")},
                "name": "migrate",
                "command": ["storybang", "migrate"],
                "ports": [],
            }
        ]
    autoscaling = spec.autoscaling
    children = [
        common.deployment(
            ds,
            name,
            COMPONENT,
            pod_spec=pod,
            replicas=None if autoscaling else spec.replicas,
            extra_labels=extra,
            pod_annotations=platform.pod_annotations(plat, common.HTTP_PORT),
            strategy={
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
        ),
        common.service(
            ds,
            name,
            COMPONENT,
            ports=[{"name": "http", "port": common.HTTP_PORT, "targetPort": "http", "protocol": "TCP"}],
            extra_labels=extra,
        ),
    ]
    if autoscaling:
        children.append(
            common.cpu_hpa(
                ds,
                name,
                COMPONENT,
                min_replicas=autoscaling.min_replicas,
                max_replicas=autoscaling.max_replicas,
                cpu_percent=autoscaling.target_cpu_utilization_percentage,
                extra_labels=extra,
            )
        )
    pdb = build_pdb(ds, extra)
    if pdb is not None:
        children.append(pdb)
    return children


def build_pdb(ds: specs.DomainService, extra: dict[str, str]) -> common.Manifest | None:
    budget = ds.spec.pod_disruption_budget
    if not budget.enabled:
        return None
    # The spec refuses both rules at once.
    rule = (
        {"minAvailable": budget.min_available}
        if budget.min_available is not None
        else {"maxUnavailable": DEFAULT_MAX_UNAVAILABLE if budget.max_unavailable is None else budget.max_unavailable}
    )
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": common.metadata(ds, ds.name, COMPONENT, extra_labels=extra),
        "spec": {"selector": {"matchLabels": common.selector_labels(ds, COMPONENT)}, **rule},
    }
