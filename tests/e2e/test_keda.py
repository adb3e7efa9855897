"""Workers scale on their queue: with KEDA (its real CRDs and admission webhooks, tests/e2e/keda.py)
through a ScaledObject on the task's Redis list, without it by the operator from the same list.
Switching between the two, in either direction and whatever was there first, removes the old
autoscaler before the new one is applied and never drops the running workers to one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import redis
import urllib3

from conftest import StartOperator
from keda import installed_crds, webhooks
from kube import OWNER_UID_LABEL, Cluster, eventually, eventually_gone, example

InstallKeda = Callable[[], None]


@pytest.fixture
def install_keda(cluster: Cluster, tmp_path: Path) -> Iterator[InstallKeda]:
    """Installs KEDA (CRDs, then webhooks) when called, for one test only; the others run without
    it. Asked for before the operators, so that they are stopped before KEDA goes."""
    with contextlib.ExitStack() as stack:

        def install() -> None:
            stack.enter_context(installed_crds(cluster))
            stack.enter_context(webhooks(cluster, tmp_path))

        yield install


@pytest.fixture
def queue(redis_url: str) -> Iterator[Callable[[str, int], None]]:
    """Sets the number of messages waiting in a task's Dramatiq list (the namespace's Platform
    reads Redis database 0 of the test Redis)."""
    client = redis.Redis.from_url(f"{redis_url}/0")
    keys: set[str] = set()

    def fill(task: str, count: int) -> None:
        key = f"dramatiq:{task}"
        keys.add(key)
        client.delete(key)
        if count:
            client.rpush(key, *(f"message-{i}" for i in range(count)))

    yield fill
    if keys:
        client.delete(*keys)
    client.close()


class ReplicaWatch:
    """Every spec.replicas a Deployment has had while it runs: the count through a switch, not
    only its final value."""

    def __init__(self, cluster: Cluster, namespace: str, name: str) -> None:
        self.seen: list[int] = []
        self._watch = kubernetes.watch.Watch()
        apps, selector = cluster.apps, f"metadata.name={name}"

        self._stopped = False

        def run() -> None:
            try:
                for event in self._watch.stream(
                    apps.list_namespaced_deployment, namespace, field_selector=selector, timeout_seconds=300
                ):
                    self.seen.append(event["object"].spec.replicas)
            except urllib3.exceptions.ProtocolError:
                if not self._stopped:  # cut by stop(), else a real failure
                    raise

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        eventually(lambda: bool(self.seen))

    def stop(self) -> list[int]:
        self._stopped = True
        self._watch.stop()
        return self.seen


def _scaled_object(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = cluster.custom.get_namespaced_custom_object(
        "keda.sh", "v1alpha1", namespace, "scaledobjects", name
    )
    return obj


def _hpas(cluster: Cluster, namespace: str) -> set[str]:
    items = cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items
    return {h.metadata.name for h in items}


def _replicas(cluster: Cluster, namespace: str, name: str) -> int:
    return int(cluster.apps.read_namespaced_deployment(name, namespace).spec.replicas)


def _autoscaling(cluster: Cluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    conditions = cluster.get(namespace, kind, name).get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == "Autoscaling"), {})


def _hpa_for(namespace: str, target: str, name: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """An HPA on a Deployment: a person's (no owner), or one as operators before this one
    rendered for a Generator's workers (owned, labelled with the owner's uid)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner is not None:
        uid = owner["metadata"]["uid"]
        meta["labels"] = {OWNER_UID_LABEL: uid}
        meta["ownerReferences"] = [
            {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"], "uid": uid,
             "controller": True, "blockOwnerDeletion": True}
        ]  # fmt: skip
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def _translation(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    docs = [
        example("platform.yaml"),
        example("modelserver-cpu-transformers.yaml"),
        example("generator-scale-to-zero.yaml"),
    ]
    cluster.apply(namespace, docs)
    return docs


def test_without_keda_the_operator_scales_workers_on_the_queue(
    cluster: Cluster, namespace: str, start_operator: StartOperator, queue: Callable[[str, int], None]
) -> None:
    """translate: 0..4 workers, 10 waiting messages per worker; no HPA (the workers wait on HTTP
    at next to no CPU, so CPU would never scale them)."""
    queue("translate", 0)
    start_operator(namespace)
    docs = _translation(cluster, namespace)
    cluster.wait_all_ready(namespace, docs)
    assert "translate" not in _hpas(cluster, namespace)
    assert _replicas(cluster, namespace, "translate") == 1
    st = cluster.get(namespace, "Generator", "translate")["status"]
    autoscaling = _autoscaling(cluster, namespace, "Generator", "translate")
    assert (st["autoscaler"], autoscaling["reason"], autoscaling["status"]) == (
        "Operator",
        "ScaleToZeroNeedsKEDA",
        "True",
    )

    queue("translate", 25)
    eventually(lambda: _replicas(cluster, namespace, "translate") == 3)  # ceil(25 / 10)
    queue("translate", 1000)
    eventually(lambda: _replicas(cluster, namespace, "translate") == 4)  # the maximum
    watch = ReplicaWatch(cluster, namespace, "translate")
    queue("translate", 0)
    eventually(lambda: _replicas(cluster, namespace, "translate") == 1, timeout=60)
    # Down one worker at a time, to the minimum of one (scale to zero needs KEDA).
    seen = watch.stop()
    assert [n for i, n in enumerate(seen) if i == 0 or n != seen[i - 1]] == [4, 3, 2, 1]
    cluster.wait_ready(namespace, "Generator", "translate")


def test_with_keda_a_scaled_object_drives_the_workers_and_may_scale_them_to_zero(
    cluster: Cluster, namespace: str, install_keda: InstallKeda, start_operator: StartOperator
) -> None:
    install_keda()
    start_operator(namespace)
    docs = _translation(cluster, namespace)
    cluster.wait_all_ready(namespace, docs)

    # KEDA's own schema and webhook accepted what the operator rendered.
    scaled = eventually(lambda: _scaled_object(cluster, namespace, "translate"))
    spec = scaled["spec"]
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] == 4
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "translate"}
    [trigger] = spec["triggers"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "dramatiq:translate"
    auth = cluster.custom.get_namespaced_custom_object(
        "keda.sh", "v1alpha1", namespace, "triggerauthentications", trigger["authenticationRef"]["name"]
    )
    assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {"address", "password"}
    assert scaled["metadata"]["ownerReferences"][0]["kind"] == "Generator"
    assert "translate" not in _hpas(cluster, namespace)
    assert cluster.get(namespace, "Generator", "translate")["status"]["autoscaler"] == "KEDA"

    # What KEDA does on an empty queue: scale the workers to zero. The operator leaves the count
    # alone (it renders none under KEDA) and calls it Ready.
    cluster.kubectl("-n", namespace, "scale", "deployment", "translate", "--replicas=0")

    def scaled_to_zero() -> bool:
        ready = cluster.ready(namespace, "Generator", "translate")
        return ready.get("reason") == "ScaledToZero" and ready.get("status") == "True"

    eventually(scaled_to_zero)
    assert _replicas(cluster, namespace, "translate") == 0


def test_keda_coming_and_going_hands_the_workers_over_without_dropping_them(
    cluster: Cluster,
    namespace: str,
    install_keda: InstallKeda,
    start_operator: StartOperator,
    queue: Callable[[str, int], None],
) -> None:
    queue("translate", 30)
    start_operator(namespace)
    docs = _translation(cluster, namespace)
    cluster.wait_all_ready(namespace, docs)
    eventually(lambda: _replicas(cluster, namespace, "translate") == 3)
    watch = ReplicaWatch(cluster, namespace, "translate")

    install_keda()
    eventually(lambda: _scaled_object(cluster, namespace, "translate"), timeout=60)
    eventually(lambda: cluster.get(namespace, "Generator", "translate")["status"].get("autoscaler") == "KEDA")
    # The operator no longer owns the count, and it stayed where it was.
    deployment = cluster.apps.read_namespaced_deployment("translate", namespace)
    owners = {
        e.manager for e in deployment.metadata.managed_fields if "f:replicas" in (e.fields_v1 or {}).get("f:spec", {})
    }
    assert "storybang-operator" not in owners
    assert deployment.spec.replicas == 3
    assert set(watch.stop()) == {3}


def test_an_hpa_left_by_an_older_operator_is_removed_before_the_scaled_object_is_applied(
    cluster: Cluster, namespace: str, install_keda: InstallKeda, start_operator: StartOperator
) -> None:
    """KEDA's webhook refuses a ScaledObject for a Deployment an HPA scales: the HPA that earlier
    operators rendered for workers without KEDA must go first."""
    cluster.apply(namespace, [example("platform.yaml"), example("modelserver-cpu-transformers.yaml")])
    generator = example("generator-scale-to-zero.yaml")
    cluster.apply(namespace, [generator])
    live = cluster.get(namespace, "Generator", "translate")
    cluster.autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace, _hpa_for(namespace, "translate", "translate", owner=live)
    )
    install_keda()
    start_operator(namespace)
    eventually(lambda: _scaled_object(cluster, namespace, "translate"), timeout=60)
    assert "translate" not in _hpas(cluster, namespace)
    cluster.wait_ready(namespace, "Generator", "translate")


def test_a_scaled_object_refused_by_keda_s_webhook_is_reported_as_a_denial(
    cluster: Cluster, namespace: str, install_keda: InstallKeda, start_operator: StartOperator
) -> None:
    """A person's HPA on the workers: KEDA refuses the ScaledObject (a 403 like RBAC's), and the
    Generator says that, not that the operator lacks a permission; it converges once the HPA goes."""
    install_keda()
    cluster.autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace, _hpa_for(namespace, "translate", "someone-elses")
    )
    start_operator(namespace)
    _translation(cluster, namespace)

    def denied() -> bool:
        ready = cluster.ready(namespace, "Generator", "translate")
        return ready.get("reason") == "AdmissionDenied"

    eventually(denied, timeout=60)
    message = cluster.ready(namespace, "Generator", "translate")["message"]
    assert "vscaledobject.kb.io" in message and "someone-elses" in message
    cluster.autoscaling.delete_namespaced_horizontal_pod_autoscaler("someone-elses", namespace)
    eventually_gone(lambda: cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler("someone-elses", namespace))
    eventually(lambda: _scaled_object(cluster, namespace, "translate"), timeout=60)
    cluster.wait_ready(namespace, "Generator", "translate")


def test_a_vllm_server_without_a_metrics_source_gets_no_hpa_and_says_why(
    cluster: Cluster, namespace: str, install_keda: InstallKeda, start_operator: StartOperator
) -> None:
    """No HPA on a metric that no adapter serves; with KEDA and prometheusAddress, a ScaledObject
    on Prometheus (accepted by KEDA's schema and webhook)."""
    start_operator(namespace)
    server = example("modelserver-gpu-vllm-story.yaml")
    server["spec"]["replicas"] = 2
    cluster.apply(namespace, [server])
    eventually(
        lambda: _autoscaling(cluster, namespace, "ModelServer", "llama-story").get("reason") == "NoMetricsSource"
    )
    assert _autoscaling(cluster, namespace, "ModelServer", "llama-story")["status"] == "False"
    assert "llama-story" not in _hpas(cluster, namespace)
    assert _replicas(cluster, namespace, "llama-story") == 2

    install_keda()
    address = "http://prometheus.monitoring.svc:9090"
    cluster.patch(namespace, "ModelServer", "llama-story", {"spec": {"autoscaling": {"prometheusAddress": address}}})
    scaled = eventually(lambda: _scaled_object(cluster, namespace, "llama-story"), timeout=60)
    assert scaled["spec"]["triggers"][0]["metadata"]["serverAddress"] == address
    eventually(lambda: _autoscaling(cluster, namespace, "ModelServer", "llama-story").get("reason") == "KEDA")
    assert _replicas(cluster, namespace, "llama-story") == 2  # handed over, not reset
