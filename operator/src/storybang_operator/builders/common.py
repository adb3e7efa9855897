"""Pieces every builder shares: names, labels, owner references and the restricted pod shape.

Everything here is a pure function of its arguments, so that builders stay testable without a
cluster. An owner is a parsed custom resource (`specs.Resource`); a `Body` is one as the API
server returns it (a mapping), which only the reconcile and handler layers read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storybang_operator import specs

Body = Mapping[str, Any]
Manifest = dict[str, Any]
Owner = specs.Resource

GROUP = "storybang.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
MANAGED_BY = "storybang-operator"
PART_OF = "storybang"

# Label keys. The pod selectors use only the stable ones (name, instance, component), because a
# Deployment's selector cannot change after creation.
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# Every child of ours carries it: what the operator's watches of Deployments and pods select.
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
PLATFORM_LABEL = "storybang.io/platform"
DOMAIN_LABEL = "storybang.io/domain"
# The owner's uid on every child: pruning lists children by it, so a child of another resource
# with the same name is never touched.
OWNER_UID_LABEL = "storybang.io/owner-uid"

HTTP_PORT = 8000
WORKER_METRICS_PORT = 9191
# A fixed non-root identity: images that default to root (vLLM's) still pass runAsNonRoot, and
# fsGroup makes the model cache volume writable for it.
RUN_AS_USER = 10001


def selector_labels(owner: Owner, component: str) -> dict[str, str]:
    return {
        NAME_LABEL: PART_OF,
        INSTANCE_LABEL: owner.name,
        COMPONENT_LABEL: component,
    }


def labels(owner: Owner, component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels of a child and of its pods: the selector labels plus part-of and managed-by."""
    return {
        **selector_labels(owner, component),
        PART_OF_LABEL: PART_OF,
        MANAGED_BY_LABEL: MANAGED_BY,
        **(extra or {}),
    }


def owner_reference(owner: Owner) -> dict[str, Any]:
    """A controller reference: the child is garbage-collected with its owner and adopted by it."""
    return {
        "apiVersion": owner.api_version,
        "kind": owner.kind,
        "name": owner.name,
        "uid": owner.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata(
    owner: Owner,
    name: str,
    component: str,
    *,
    extra_labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": owner.namespace,
        "labels": {
            **labels(owner, component, extra_labels),
            OWNER_UID_LABEL: owner.metadata.uid,
        },
        "ownerReferences": [owner_reference(owner)],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def pod_security_context() -> dict[str, Any]:
    """Pod Security Standard "restricted", pod level."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Pod Security Standard "restricted", container level, plus a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tmp_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """A writable /tmp (volume, mount): the root filesystem is read-only."""
    return (
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, not the node's /tmp
    )


def http_probe(
    path: str,
    port: int | str,
    *,
    period: int = 10,
    timeout: int = 3,
    failures: int = 3,
    initial_delay: int = 0,
) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def plain_env(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def deployment(
    owner: Owner,
    name: str,
    component: str,
    *,
    pod_spec: dict[str, Any],
    replicas: int | None,
    extra_labels: Mapping[str, str] | None = None,
    pod_annotations: Mapping[str, str] | None = None,
    strategy: Mapping[str, Any] | None = None,
    progress_deadline_seconds: int | None = None,
) -> Manifest:
    """A Deployment whose pods carry the owner's labels. `replicas=None` leaves the count to an
    autoscaler: the field is then not in the applied manifest, so the operator never fights it.
    `progress_deadline_seconds=None` keeps the Deployment's default (10 minutes)."""
    template_meta: dict[str, Any] = {"labels": labels(owner, component, extra_labels)}
    if pod_annotations:
        template_meta["annotations"] = dict(pod_annotations)
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(owner, component)},
        "template": {"metadata": template_meta, "spec": pod_spec},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    if strategy is not None:
        spec["strategy"] = dict(strategy)
    if progress_deadline_seconds is not None:
        spec["progressDeadlineSeconds"] = progress_deadline_seconds
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(owner, name, component, extra_labels=extra_labels),
        "spec": spec,
    }


def service(
    owner: Owner,
    name: str,
    component: str,
    *,
    ports: Sequence[Mapping[str, Any]],
    extra_labels: Mapping[str, str] | None = None,
) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, name, component, extra_labels=extra_labels),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(owner, component),
            "ports": [dict(p) for p in ports],
        },
    }


def cpu_hpa(
    owner: Owner,
    name: str,
    component: str,
    *,
    min_replicas: int,
    max_replicas: int,
    cpu_percent: int,
    extra_labels: Mapping[str, str] | None = None,
) -> Manifest:
    return hpa(
        owner,
        name,
        component,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        metrics=[
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": cpu_percent},
                },
            }
        ],
        extra_labels=extra_labels,
    )


def hpa(
    owner: Owner,
    name: str,
    component: str,
    *,
    min_replicas: int,
    max_replicas: int,
    metrics: list[dict[str, Any]],
    extra_labels: Mapping[str, str] | None = None,
) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(owner, name, component, extra_labels=extra_labels),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": metrics,
        },
    }


def scaled_object(
    owner: Owner,
    name: str,
    component: str,
    *,
    min_replicas: int,
    max_replicas: int,
    trigger: dict[str, Any],
    polling_seconds: int | None = None,
    cooldown_seconds: int | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A KEDA ScaledObject on the Deployment `name`, KEDA's counterpart of `hpa()`: KEDA makes
    and drives an HPA of its own from it, and may scale the Deployment to zero."""
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicaCount": min_replicas,
        "maxReplicaCount": max_replicas,
        "triggers": [trigger],
    }
    if polling_seconds is not None:
        spec["pollingInterval"] = polling_seconds
    if cooldown_seconds is not None:
        spec["cooldownPeriod"] = cooldown_seconds
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": metadata(owner, name, component, extra_labels=extra_labels),
        "spec": spec,
    }


def selector_string(owner: Owner, component: str) -> str:
    """The pods' selector as the scale subresource wants it (`k=v,k=v`)."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector_labels(owner, component).items()))
