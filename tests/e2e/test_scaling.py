"""Scaling: a DomainService's replicas and autoscaling, followed by the Deployment and the
HorizontalPodAutoscaler (whose controller enforces its bounds even without a metrics server), and
a Generator's worker bounds, which the operator keeps without KEDA."""

from __future__ import annotations

from conftest import StartOperator
from kube import Cluster, eventually, example
from test_keda import ReplicaWatch


def _replicas(cluster: Cluster, namespace: str, name: str) -> tuple[int, int]:
    deployment = cluster.apps.read_namespaced_deployment(name, namespace)
    return deployment.spec.replicas, deployment.status.available_replicas or 0


def _hpa_bounds(cluster: Cluster, namespace: str, name: str) -> tuple[int, int]:
    hpa = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace)
    return hpa.spec.min_replicas, hpa.spec.max_replicas


def _hpa_names(cluster: Cluster, namespace: str) -> set[str]:
    items = cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items
    return {h.metadata.name for h in items}


def test_a_domain_service_follows_its_replicas_then_its_autoscaling(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    cluster.apply(
        namespace,
        [example("platform.yaml"), example("domain-services.yaml", "characters")],
    )
    cluster.wait_ready(namespace, "DomainService", "characters")
    assert _replicas(cluster, namespace, "characters") == (2, 2)

    cluster.patch(namespace, "DomainService", "characters", {"spec": {"replicas": 4}})
    cluster.wait_ready(namespace, "DomainService", "characters")
    assert _replicas(cluster, namespace, "characters") == (4, 4)
    assert cluster.get(namespace, "DomainService", "characters")["status"]["readyReplicas"] == 4

    # Autoscaling on: the count is handed over to an HPA as it is (4 is within 3..6), never
    # dropped to the default of 1 on the way.
    watch = ReplicaWatch(cluster, namespace, "characters")
    autoscaling = {
        "minReplicas": 3,
        "maxReplicas": 6,
        "targetCPUUtilizationPercentage": 60,
    }
    cluster.patch(namespace, "DomainService", "characters", {"spec": {"autoscaling": autoscaling}})
    eventually(lambda: _hpa_bounds(cluster, namespace, "characters") == (3, 6))
    eventually(lambda: "replicas" not in _operator_fields(cluster, namespace, "characters"))
    assert set(watch.stop()) == {4}
    # Its controller then keeps the count within the bounds.
    cluster.patch(
        namespace,
        "DomainService",
        "characters",
        {"spec": {"autoscaling": {"minReplicas": 5}}},
    )
    eventually(lambda: _hpa_bounds(cluster, namespace, "characters") == (5, 6))
    eventually(lambda: _replicas(cluster, namespace, "characters") == (5, 5), timeout=90)
    cluster.wait_ready(namespace, "DomainService", "characters")

    # Autoscaling off again: the HPA is pruned and the fixed count is back.
    cluster.patch(
        namespace,
        "DomainService",
        "characters",
        {"spec": {"autoscaling": None, "replicas": 2}},
    )
    eventually(lambda: "characters" not in _hpa_names(cluster, namespace))
    eventually(lambda: _replicas(cluster, namespace, "characters") == (2, 2))
    cluster.wait_ready(namespace, "DomainService", "characters")


def _operator_fields(cluster: Cluster, namespace: str, name: str) -> set[str]:
    """The Deployment spec fields that the operator's server-side apply owns."""
    deployment = cluster.apps.read_namespaced_deployment(name, namespace)
    entries = [e for e in deployment.metadata.managed_fields if e.manager == "storybang-operator"]
    return {key.removeprefix("f:") for e in entries for key in (e.fields_v1 or {}).get("f:spec", {})}


def test_generator_workers_follow_their_bounds(cluster: Cluster, namespace: str, start_operator: StartOperator) -> None:
    start_operator(namespace)
    generator = example("generator-story-xai.yaml")
    generator["spec"]["backends"] = [b for b in generator["spec"]["backends"] if "external" in b]
    cluster.apply(namespace, [example("platform.yaml"), generator])
    cluster.wait_ready(namespace, "Generator", "story")
    # An empty queue: the minimum, set by the operator (no HPA on the workers' CPU).
    assert _replicas(cluster, namespace, "story") == (1, 1)
    assert "story" not in _hpa_names(cluster, namespace)

    workers = {"minReplicas": 3, "maxReplicas": 8}
    cluster.patch(namespace, "Generator", "story", {"spec": {"workers": workers}})
    eventually(lambda: _replicas(cluster, namespace, "story") == (3, 3), timeout=90)

    def reported() -> bool:
        st = cluster.get(namespace, "Generator", "story")["status"]
        return bool(st.get("workers") == 3 and st.get("readyWorkers") == 3)

    eventually(reported)
    cluster.wait_ready(namespace, "Generator", "story")
