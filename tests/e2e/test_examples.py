"""Every example of manifests/ at once, in one namespace, under one operator: owned children,
Ready once kwok's pods run, pods admitted under Pod Security "restricted", backends the workers
can call, and queue depths read from Redis. The tests only read what the module set up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from conftest import Release, fresh_namespace, operators
from kube import OWNER_UID_LABEL, Cluster, eventually, examples

# Children each kind always has (more with autoscaling, a cache or an ingress).
CHILD_KINDS = {
    "Platform": {"ConfigMap", "ServiceAccount", "Ingress", "NetworkPolicy"},
    "DomainService": {"Deployment", "Service", "PodDisruptionBudget"},
    "Generator": {"Deployment"},  # scaled on the queue: by KEDA when installed, else by the operator
    "ModelServer": {"Deployment", "Service"},
}
QUEUE_DB = 3  # the examples' Platform reads its queues from this Redis database


@pytest.fixture(scope="module")
def applied(
    cluster: Cluster,
    redis_url: str,
    release: Release,
    operator_kubeconfig: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    docs = examples()
    with (
        fresh_namespace(cluster, redis_url, "e2e-examples", db=QUEUE_DB) as namespace,
        operators(operator_kubeconfig, tmp_path_factory.mktemp("examples"), request) as start,
    ):
        start(namespace)
        warnings = cluster.apply(namespace, docs)
        assert "PodSecurity" not in warnings, warnings
        cluster.wait_all_ready(namespace, docs, timeout=180)
        yield namespace, docs


def test_every_example_becomes_ready_once_kwoks_pods_run(
    cluster: Cluster, applied: tuple[str, list[dict[str, Any]]]
) -> None:
    namespace, docs = applied
    for doc in docs:
        obj = cluster.get(namespace, doc["kind"], doc["metadata"]["name"])
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    for deployment in cluster.apps.list_namespaced_deployment(namespace).items:
        assert deployment.status.available_replicas == deployment.spec.replicas, deployment.metadata.name


def test_children_exist_with_controller_owner_references(
    cluster: Cluster, applied: tuple[str, list[dict[str, Any]]]
) -> None:
    namespace, docs = applied
    for doc in docs:
        owner = cluster.get(namespace, doc["kind"], doc["metadata"]["name"])
        children = cluster.children(namespace, owner["metadata"]["uid"])
        assert set(children) >= CHILD_KINDS[doc["kind"]], (
            doc["metadata"]["name"],
            children,
        )
        for deployment_name in children.get("Deployment", []):
            deployment = cluster.apps.read_namespaced_deployment(deployment_name, namespace)
            [reference] = deployment.metadata.owner_references
            assert (reference.kind, reference.name, reference.uid) == (
                owner["kind"],
                owner["metadata"]["name"],
                owner["metadata"]["uid"],
            )
            assert reference.controller and reference.block_owner_deletion
    # Autoscaled ones have an HPA, a cache a volume claim (bound by the volume provisioner) that
    # names its server by label only: it outlives the server (test_deletion.py).
    assert "HorizontalPodAutoscaler" in cluster.children(
        namespace, cluster.get(namespace, "DomainService", "stories")["metadata"]["uid"]
    )
    llama = cluster.get(namespace, "ModelServer", "llama-story")
    claim = cluster.core.read_namespaced_persistent_volume_claim("llama-story-cache", namespace)
    assert claim.metadata.labels[OWNER_UID_LABEL] == llama["metadata"]["uid"]
    assert not claim.metadata.owner_references
    assert claim.spec.access_modes == ["ReadWriteMany"]
    assert claim.status.phase == "Bound"


def test_every_pod_is_admitted_under_restricted_without_warnings(
    cluster: Cluster, applied: tuple[str, list[dict[str, Any]]]
) -> None:
    namespace, _ = applied
    # Every ReplicaSet made its pods: Pod Security refusing one would leave it short.
    for replicaset in cluster.apps.list_namespaced_replica_set(namespace).items:
        if replicaset.spec.replicas:
            assert replicaset.status.ready_replicas == replicaset.spec.replicas
    complaints = [
        f"{e.reason}: {e.message}"
        for e in cluster.events(namespace)
        if "PodSecurity" in (e.message or "") or e.reason == "FailedCreate"
    ]
    assert not complaints, complaints
    # Each live pod, submitted again as a dry run, passes admission with no warning at all.
    pods = cluster.core.list_namespaced_pod(namespace).items
    assert pods
    for pod in pods:
        manifest = cluster.api.sanitize_for_serialization(pod)
        manifest |= {"apiVersion": "v1", "kind": "Pod"}
        manifest["metadata"] = {
            "generateName": "admission-",
            "labels": pod.metadata.labels,
        }
        manifest.pop("status", None)
        done = cluster.kubectl(
            "create", "-n", namespace, "--dry-run=server", "-o", "name", "-f", "-",
            stdin=yaml.safe_dump(manifest),
        )  # fmt: skip
        assert done.stderr == "", (pod.metadata.name, done.stderr)


def _backends(cluster: Cluster, namespace: str, name: str) -> list[dict[str, str]]:
    deployment = cluster.apps.read_namespaced_deployment(name, namespace)
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    listed: list[dict[str, str]] = json.loads(env["STORYBANG_GENERATION__BACKENDS"])
    return listed


def test_workers_learn_each_backends_kind_and_model(
    cluster: Cluster, applied: tuple[str, list[dict[str, Any]]]
) -> None:
    namespace, _ = applied
    llama = cluster.get(namespace, "ModelServer", "llama-story")
    smollm2 = cluster.get(namespace, "ModelServer", "smollm2")
    assert _backends(cluster, namespace, "story") == [
        {
            "name": "llama",
            "kind": "openai",  # vLLM: the OpenAI API and nothing more
            "base_url": llama["status"]["endpoint"],
            "model": llama["status"]["model"],
        },
        {
            "name": "xai",
            "kind": "openai",
            "base_url": "https://api.x.ai/v1",
            "model": "grok-3-mini",
        },
    ]
    assert _backends(cluster, namespace, "translate") == [
        {"name": "apertium", "kind": "apertium"},
        {
            "name": "smollm2",
            "kind": "storybang",  # `storybang inference`: also /v1/translations
            "base_url": smollm2["status"]["endpoint"],
            "model": smollm2["status"]["model"],
        },
    ]


def test_model_servers_answer_to_the_name_the_operator_reports(
    cluster: Cluster, applied: tuple[str, list[dict[str, Any]]]
) -> None:
    namespace, _ = applied
    smollm2 = cluster.get(namespace, "ModelServer", "smollm2")
    [container] = cluster.apps.read_namespaced_deployment("smollm2", namespace).spec.template.spec.containers
    assert container.command == [
        "storybang",
        "inference",
        "--model",
        "smollm2-135m-instruct",
    ]
    env = {e.name: e.value for e in container.env}
    # `storybang inference` would call the bundled model "smollm2" by itself.
    assert env["STORYBANG_INFERENCE_SERVED_MODEL_NAME"] == smollm2["status"]["model"]
    llama = cluster.get(namespace, "ModelServer", "llama-story")
    [container] = cluster.apps.read_namespaced_deployment("llama-story", namespace).spec.template.spec.containers
    assert f"--served-model-name={llama['status']['model']}" in container.args


def test_generators_report_their_queue_depth_from_redis(
    cluster: Cluster, applied: tuple[str, list[dict[str, Any]]], redis_url: str
) -> None:
    namespace, _ = applied
    queue = redis.Redis.from_url(f"{redis_url}/{QUEUE_DB}")
    queue.lpush("dramatiq:story", "m1", "m2", "m3")
    try:

        def depth() -> Any:
            st = cluster.get(namespace, "Generator", "story")["status"]
            return st.get("queueDepth") == 3 and st

        st = eventually(depth, timeout=30)
        observed = next(c for c in st["conditions"] if c["type"] == "QueueObserved")
        assert observed["status"] == "True"
        assert st["queue"] == "dramatiq:story"
    finally:
        queue.delete("dramatiq:story")
