"""Deletion: a resource's children go with it (owner references, the garbage collector), and
without the operator running, since it keeps no finalizer; a ModelServer's model cache stays
unless asked otherwise."""

from __future__ import annotations

from typing import Any

from conftest import StartOperator
from kube import OWNER_UID_LABEL, Cluster, eventually, eventually_gone, example


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


def _model_server(*, delete_with_server: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": "storybang.io/v1alpha1",
        "kind": "ModelServer",
        "metadata": {"name": "cached"},
        "spec": {
            "engine": "vllm",
            "model": {"huggingFace": {"id": "HuggingFaceTB/SmolLM2-135M-Instruct"}},
            "cache": {"size": "1Gi", "deleteWithServer": delete_with_server},
        },
    }


def test_a_model_cache_outlives_its_server_and_is_taken_over_by_the_next_unless_asked(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)

    def claim() -> dict[str, Any] | None:
        for pvc in cluster.core.list_namespaced_persistent_volume_claim(namespace).items:
            if pvc.metadata.name == "cached-cache" and pvc.metadata.deletion_timestamp is None:
                found: dict[str, Any] = cluster.core.api_client.sanitize_for_serialization(pvc)
                return found
        return None

    def uid() -> str:
        return str(cluster.get(namespace, "ModelServer", "cached")["metadata"]["uid"])

    cluster.apply(namespace, [_model_server()])
    eventually(lambda: claim() is not None, timeout=60)
    first = claim()
    assert first is not None and not first["metadata"].get("ownerReferences")
    cluster.delete(namespace, "ModelServer", "cached")
    eventually(lambda: not cluster.apps.list_namespaced_deployment(namespace).items, timeout=90)
    kept = claim()
    assert kept is not None and kept["metadata"]["uid"] == first["metadata"]["uid"]

    # A new server of the same name takes the same claim over, and owns it when asked to.
    cluster.apply(namespace, [_model_server(delete_with_server=True)])
    eventually(lambda: (claim() or {}).get("metadata", {}).get("labels", {}).get(OWNER_UID_LABEL) == uid(), timeout=60)
    adopted = claim()
    assert adopted is not None and adopted["metadata"]["uid"] == first["metadata"]["uid"]
    assert [r["uid"] for r in adopted["metadata"]["ownerReferences"]] == [uid()]
    cluster.delete(namespace, "ModelServer", "cached")
    eventually(lambda: claim() is None, timeout=90)
