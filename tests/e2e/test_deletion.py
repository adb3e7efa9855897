"""Deletion: a resource's children go with it (owner references, the garbage collector), and
without the operator running, since it keeps no finalizer."""

from __future__ import annotations

from conftest import StartOperator
from kube import Cluster, eventually, eventually_gone, example


def _nothing_labelled(cluster: Cluster, namespace: str, selector: str) -> bool:
    lists = (
        cluster.apps.list_namespaced_deployment,
        cluster.apps.list_namespaced_replica_set,
        cluster.core.list_namespaced_pod,
        cluster.core.list_namespaced_service,
        cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler,
        cluster.policy.list_namespaced_pod_disruption_budget,
    )
    return all(not list_(namespace, label_selector=selector).items for list_ in lists)


def test_deleting_a_resource_collects_its_children(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    generator = example("generator-story-xai.yaml")
    generator["spec"]["backends"] = [b for b in generator["spec"]["backends"] if "external" in b]
    docs = [
        example("platform.yaml"),
        example("domain-services.yaml", "stories"),
        generator,
    ]
    cluster.apply(namespace, docs)
    cluster.wait_all_ready(namespace, docs)

    for kind, name in (("Generator", "story"), ("DomainService", "stories")):
        uid = cluster.get(namespace, kind, name)["metadata"]["uid"]
        assert cluster.children(namespace, uid)
        cluster.delete(namespace, kind, name)
        eventually_gone(lambda kind=kind, name=name: cluster.get(namespace, kind, name))
        eventually(lambda uid=uid: not cluster.children(namespace, uid), timeout=90)
        # The pods go too: Deployment → ReplicaSet → Pod, each owned by the one before.
        eventually(
            lambda name=name: _nothing_labelled(cluster, namespace, f"app.kubernetes.io/instance={name}"),
            timeout=90,
        )


def test_resources_are_deleted_while_the_operator_is_down(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    operator = start_operator(namespace)
    docs = [example("platform.yaml"), example("domain-services.yaml", "identity")]
    cluster.apply(namespace, docs)
    cluster.wait_all_ready(namespace, docs)
    for doc in docs:
        obj = cluster.get(namespace, doc["kind"], doc["metadata"]["name"])
        assert not obj["metadata"].get("finalizers"), obj["metadata"]
    platform_uid = cluster.get(namespace, "Platform", "storybang")["metadata"]["uid"]
    identity_uid = cluster.get(namespace, "DomainService", "identity")["metadata"]["uid"]
    operator.stop()

    cluster.kubectl("-n", namespace, "delete", "platform,domainservice", "--all", "--timeout=60s")
    eventually(lambda: not cluster.children(namespace, platform_uid), timeout=90)
    eventually(lambda: not cluster.children(namespace, identity_uid), timeout=90)
