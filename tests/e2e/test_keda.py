"""KEDA: when its CRDs exist, Generators get a ScaledObject on their Redis list instead of an
HPA, and may scale to zero. KEDA itself is not installed (its CRDs are enough for the operator's
choice, and nothing here could run its pods); the test plays its part by scaling to zero."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import StartOperator
from kube import Cluster, eventually, eventually_gone, example


def _crd(kind: str, plural: str) -> dict[str, Any]:
    """A minimal CRD of KEDA's: the names, and a schema that keeps every field."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.keda.sh"},
        "spec": {
            "group": "keda.sh",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


KEDA_CRDS = [
    _crd("ScaledObject", "scaledobjects"),
    _crd("TriggerAuthentication", "triggerauthentications"),
]


@pytest.fixture
def install_keda(cluster: Cluster) -> Iterator[Callable[[], None]]:
    """Installs KEDA's CRDs when called, for one test only (the others run without KEDA).
    Asked for before the operators, so that they are stopped before the CRDs go."""
    installed: list[str] = []

    def install() -> None:
        for crd in KEDA_CRDS:
            cluster.extensions.create_custom_resource_definition(crd)
            installed.append(crd["metadata"]["name"])
        for name in installed:
            cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")

    yield install
    for name in installed:
        cluster.extensions.delete_custom_resource_definition(name)
    for name in installed:
        eventually_gone(lambda name=name: cluster.extensions.read_custom_resource_definition(name))


def _scaled_object(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = cluster.custom.get_namespaced_custom_object(
        "keda.sh", "v1alpha1", namespace, "scaledobjects", name
    )
    return obj


def _hpas(cluster: Cluster, namespace: str) -> set[str]:
    items = cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items
    return {h.metadata.name for h in items}


def test_without_keda_scale_to_zero_keeps_one_worker_under_an_hpa(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    docs = [
        example("platform.yaml"),
        example("modelserver-cpu-transformers.yaml"),
        example("generator-scale-to-zero.yaml"),
    ]
    cluster.apply(namespace, docs)
    cluster.wait_all_ready(namespace, docs)
    hpa = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler("translate", namespace)
    assert hpa.spec.min_replicas == 1
    st = cluster.get(namespace, "Generator", "translate")["status"]
    autoscaling = next(c for c in st["conditions"] if c["type"] == "Autoscaling")
    assert (st["autoscaler"], autoscaling["reason"]) == ("HPA", "ScaleToZeroNeedsKEDA")


def test_with_keda_a_scaled_object_replaces_the_hpa_and_workers_may_scale_to_zero(
    cluster: Cluster,
    namespace: str,
    install_keda: Callable[[], None],
    start_operator: StartOperator,
) -> None:
    install_keda()
    start_operator(namespace)
    docs = [
        example("platform.yaml"),
        example("modelserver-cpu-transformers.yaml"),
        example("generator-scale-to-zero.yaml"),
    ]
    cluster.apply(namespace, docs)
    cluster.wait_all_ready(namespace, docs)

    scaled = eventually(lambda: _scaled_object(cluster, namespace, "translate"))
    spec = scaled["spec"]
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] == 4
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "translate",
    }
    [trigger] = spec["triggers"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "dramatiq:translate"
    auth = cluster.custom.get_namespaced_custom_object(
        "keda.sh",
        "v1alpha1",
        namespace,
        "triggerauthentications",
        trigger["authenticationRef"]["name"],
    )
    assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {
        "address",
        "password",
    }
    assert scaled["metadata"]["ownerReferences"][0]["kind"] == "Generator"
    assert "translate" not in _hpas(cluster, namespace)
    st = cluster.get(namespace, "Generator", "translate")["status"]
    assert st["autoscaler"] == "KEDA"

    # What KEDA does on an empty queue: scale the workers to zero. The operator leaves the
    # count alone (it never renders replicas for workers) and calls it Ready.
    cluster.kubectl("-n", namespace, "scale", "deployment", "translate", "--replicas=0")

    def scaled_to_zero() -> bool:
        ready = cluster.ready(namespace, "Generator", "translate")
        return ready.get("reason") == "ScaledToZero" and ready.get("status") == "True"

    eventually(scaled_to_zero)
    assert cluster.apps.read_namespaced_deployment("translate", namespace).spec.replicas == 0


def test_keda_appearing_turns_the_hpa_into_a_scaled_object(
    cluster: Cluster,
    namespace: str,
    install_keda: Callable[[], None],
    start_operator: StartOperator,
) -> None:
    start_operator(namespace)
    docs = [
        example("platform.yaml"),
        example("modelserver-cpu-transformers.yaml"),
        example("generator-scale-to-zero.yaml"),
    ]
    cluster.apply(namespace, docs)
    cluster.wait_all_ready(namespace, docs)
    assert "translate" in _hpas(cluster, namespace)
    install_keda()
    eventually(lambda: _scaled_object(cluster, namespace, "translate"), timeout=60)
    eventually(lambda: "translate" not in _hpas(cluster, namespace))
