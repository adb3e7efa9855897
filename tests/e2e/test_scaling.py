"""Scaling: a DomainService's replicas and autoscaling, and a Generator's worker bounds, followed
by the Deployment and the HorizontalPodAutoscaler (whose controller enforces its bounds even
without a metrics server)."""

from __future__ import annotations

from conftest import StartOperator
from kube import Cluster, eventually, example


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

    # Autoscaling on: an HPA owns the count, and its controller lifts it to the minimum.
    autoscaling = {
        "minReplicas": 3,
        "maxReplicas": 6,
        "targetCPUUtilizationPercentage": 60,
    }
    cluster.patch(namespace, "DomainService", "characters", {"spec": {"autoscaling": autoscaling}})
    eventually(lambda: _hpa_bounds(cluster, namespace, "characters") == (3, 6))
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


def test_generator_workers_follow_their_bounds(cluster: Cluster, namespace: str, start_operator: StartOperator) -> None:
    start_operator(namespace)
    generator = example("generator-story-xai.yaml")
    generator["spec"]["backends"] = [b for b in generator["spec"]["backends"] if "external" in b]
    cluster.apply(namespace, [example("platform.yaml"), generator])
    cluster.wait_ready(namespace, "Generator", "story")
    assert _hpa_bounds(cluster, namespace, "story") == (1, 6)

    workers = {"minReplicas": 3, "maxReplicas": 8}
    cluster.patch(namespace, "Generator", "story", {"spec": {"workers": workers}})
    eventually(lambda: _hpa_bounds(cluster, namespace, "story") == (3, 8))
    eventually(lambda: _replicas(cluster, namespace, "story") == (3, 3), timeout=90)

    def reported() -> bool:
        st = cluster.get(namespace, "Generator", "story")["status"]
        return bool(st.get("workers") == 3 and st.get("readyWorkers") == 3)

    eventually(reported)
    cluster.wait_ready(namespace, "Generator", "story")
