"""Where each kind the operator reads or writes lives in the API: a pure table, no requests."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping

from storybang_operator import errors


@dataclasses.dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            base += f"/namespaces/{_q(namespace or '')}"
        base += f"/{self.plural}"
        return f"{base}/{_q(name)}" if name else base


# Everything the operator reads or writes; rbac.yaml lists the same resources.
KINDS: Mapping[tuple[str, str], Kind] = {
    ("v1", "ConfigMap"): Kind("", "v1", "configmaps"),
    ("v1", "Secret"): Kind("", "v1", "secrets"),
    ("v1", "Service"): Kind("", "v1", "services"),
    ("v1", "ServiceAccount"): Kind("", "v1", "serviceaccounts"),
    ("v1", "PersistentVolumeClaim"): Kind("", "v1", "persistentvolumeclaims"),
    ("v1", "Event"): Kind("", "v1", "events"),
    ("v1", "Pod"): Kind("", "v1", "pods"),
    ("apps/v1", "Deployment"): Kind("apps", "v1", "deployments"),
    ("networking.k8s.io/v1", "Ingress"): Kind("networking.k8s.io", "v1", "ingresses"),
    ("networking.k8s.io/v1", "NetworkPolicy"): Kind("networking.k8s.io", "v1", "networkpolicies"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): Kind("gateway.networking.k8s.io", "v1", "httproutes"),
    ("policy/v1", "PodDisruptionBudget"): Kind("policy", "v1", "poddisruptionbudgets"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): Kind("autoscaling", "v2", "horizontalpodautoscalers"),
    ("keda.sh/v1alpha1", "ScaledObject"): Kind("keda.sh", "v1alpha1", "scaledobjects"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): Kind("keda.sh", "v1alpha1", "triggerauthentications"),
    ("storybang.io/v1alpha1", "Platform"): Kind("storybang.io", "v1alpha1", "platforms"),
    ("storybang.io/v1alpha1", "DomainService"): Kind("storybang.io", "v1alpha1", "domainservices"),
    ("storybang.io/v1alpha1", "Generator"): Kind("storybang.io", "v1alpha1", "generators"),
    ("storybang.io/v1alpha1", "ModelServer"): Kind("storybang.io", "v1alpha1", "modelservers"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): Kind(
        "apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False
    ),
}


def kind_of(api_version: str, kind: str) -> Kind:
    try:
        return KINDS[(api_version, kind)]
    except KeyError:
        raise errors.InvalidSpec(f"the operator does not manage {api_version} {kind}") from None


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")
