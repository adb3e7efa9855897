"""DomainService → Deployment, Service, PodDisruptionBudget, and an HPA when autoscaling is set."""

from __future__ import annotations

from typing import Any

from storybang_operator import errors
from storybang_operator.builders import common, platform

COMPONENT = "domain-service"
DOMAINS = ("identity", "characters", "stories", "generation", "notifier", "web")


def command(domain: str) -> list[str]:
    if domain == "notifier":
        return ["storybang", "notifier"]
    return ["storybang", "serve", "--domain", domain]


def endpoint(ds: common.Body) -> str:
    return f"http://{common.name_of(ds)}.{common.namespace_of(ds)}.svc:{common.HTTP_PORT}"


def build(ds: common.Body, plat: common.Body) -> list[common.Manifest]:
    """Render the children of a DomainService, given the Platform it points at."""
    spec = common.spec_of(ds)
    domain = spec.get("domain")
    if domain not in DOMAINS:
        raise errors.InvalidSpec(f"domain must be one of {', '.join(DOMAINS)}, not {domain!r}")
    name = common.name_of(ds)
    extra = {common.PLATFORM_LABEL: common.name_of(plat), common.DOMAIN_LABEL: str(domain)}
    tmp_volume, tmp_mount = common.tmp_volume()
    container: dict[str, Any] = {
        "name": "service",
        "image": platform.image(plat, spec.get("image")),
        "imagePullPolicy": platform.pull_policy(plat),
        "command": command(str(domain)),
        "ports": [{"name": "http", "containerPort": common.HTTP_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": platform.configmap_name(common.name_of(plat))}}],
        "env": platform.secret_env(plat),
        "resources": dict(spec.get("resources", {})),
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
    autoscaling = spec.get("autoscaling")
    children = [
        common.deployment(
            ds,
            name,
            COMPONENT,
            pod_spec=pod,
            replicas=None if autoscaling else int(spec.get("replicas", 2)),
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
            ports=[
                {"name": "http", "port": common.HTTP_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
            extra_labels=extra,
        ),
    ]
    if autoscaling:
        low, high = int(autoscaling.get("minReplicas", 2)), int(autoscaling.get("maxReplicas", 10))
        if low > high:
            raise errors.InvalidSpec("autoscaling.minReplicas must not exceed maxReplicas")
        children.append(
            common.cpu_hpa(
                ds,
                name,
                COMPONENT,
                min_replicas=low,
                max_replicas=high,
                cpu_percent=int(autoscaling.get("targetCPUUtilizationPercentage", 70)),
                extra_labels=extra,
            )
        )
    pdb = build_pdb(ds, extra)
    if pdb is not None:
        children.append(pdb)
    return children


def build_pdb(ds: common.Body, extra: dict[str, str]) -> common.Manifest | None:
    budget = common.spec_of(ds).get("podDisruptionBudget", {})
    if not budget.get("enabled", True):
        return None
    if "minAvailable" in budget and "maxUnavailable" in budget:
        raise errors.InvalidSpec(
            "podDisruptionBudget: set minAvailable or maxUnavailable, not both"
        )
    rule = (
        {"minAvailable": budget["minAvailable"]}
        if "minAvailable" in budget
        else {"maxUnavailable": budget.get("maxUnavailable", 1)}
    )
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": common.metadata(ds, common.name_of(ds), COMPONENT, extra_labels=extra),
        "spec": {"selector": {"matchLabels": common.selector_labels(ds, COMPONENT)}, **rule},
    }
