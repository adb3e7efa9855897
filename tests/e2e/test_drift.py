"""Drift: what a person changes or deletes by hand in a child is put back by the operator."""

from __future__ import annotations

import json

from conftest import StartOperator
from kube import Cluster, eventually, example


def test_hand_edits_to_children_are_reverted(cluster: Cluster, namespace: str, start_operator: StartOperator) -> None:
    start_operator(namespace)
    cluster.apply(
        namespace,
        [example("platform.yaml"), example("domain-services.yaml", "stories")],
    )
    cluster.wait_ready(namespace, "DomainService", "stories")
    cluster.wait_ready(namespace, "Platform", "storybang")

    # Another field manager changes what the operator renders.
    for kind, name, patch in (
        ("hpa", "stories", {"spec": {"maxReplicas": 20}}),
        ("configmap", "storybang-config", {"data": {"STORYBANG_LOG__LEVEL": "debug"}}),
        ("service", "stories", {"spec": {"selector": {"app.kubernetes.io/instance": "other"}}}),
    ):
        cluster.kubectl("-n", namespace, "patch", kind, name, "--type=merge", "-p", json.dumps(patch))

    def hpa_max() -> int:
        hpa = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler("stories", namespace)
        return int(hpa.spec.max_replicas)

    eventually(lambda: hpa_max() == 8)
    eventually(
        lambda: (
            cluster.core.read_namespaced_config_map("storybang-config", namespace).data.get("STORYBANG_LOG__LEVEL")
            == "info"
        )
    )
    eventually(
        lambda: (
            cluster.core.read_namespaced_service("stories", namespace).spec.selector["app.kubernetes.io/instance"]
            == "stories"
        )
    )


def test_a_scaled_deployment_is_put_back_to_its_replicas(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    cluster.apply(
        namespace,
        [example("platform.yaml"), example("domain-services.yaml", "identity")],
    )
    cluster.wait_ready(namespace, "DomainService", "identity")
    cluster.kubectl("-n", namespace, "scale", "deployment", "identity", "--replicas=5")

    def replicas() -> tuple[int, int]:
        deployment = cluster.apps.read_namespaced_deployment("identity", namespace)
        return deployment.spec.replicas, deployment.status.available_replicas or 0

    eventually(lambda: replicas() == (2, 2))
    cluster.wait_ready(namespace, "DomainService", "identity")


def test_deleted_children_are_recreated(cluster: Cluster, namespace: str, start_operator: StartOperator) -> None:
    start_operator(namespace)
    cluster.apply(
        namespace,
        [example("platform.yaml"), example("domain-services.yaml", "identity")],
    )
    cluster.wait_ready(namespace, "DomainService", "identity")
    cluster.wait_ready(namespace, "Platform", "storybang")
    reads = {
        "deployment": lambda: cluster.apps.read_namespaced_deployment("identity", namespace),
        "service": lambda: cluster.core.read_namespaced_service("identity", namespace),
        "configmap": lambda: cluster.core.read_namespaced_config_map("storybang-config", namespace),
        "ingress": lambda: cluster.networking.read_namespaced_ingress("storybang", namespace),
        "networkpolicy": lambda: cluster.networking.read_namespaced_network_policy("storybang-default-deny", namespace),
    }
    before = {kind: eventually(read).metadata.uid for kind, read in reads.items()}
    for kind, read in reads.items():
        cluster.kubectl("-n", namespace, "delete", kind, read().metadata.name, "--wait=false")
    for kind, read in reads.items():
        eventually(lambda read=read, kind=kind: read().metadata.uid != before[kind], timeout=60)
        assert read().metadata.owner_references[0].controller
    cluster.wait_ready(namespace, "DomainService", "identity")
