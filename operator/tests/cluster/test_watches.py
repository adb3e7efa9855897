"""What the operator asks the API server to send it: its own Deployments only (the API server
filters them), and the metadata of a Secret that a resource waits for (never its data), so that
the resource is re-examined as soon as the Secret changes rather than at the next resync.

The first test counts the watch events the API server sends for Deployments
(`apiserver_watch_events_total`, summed over every watcher of Deployments): a change of a labelled
Deployment reaches one more watcher than a change of an unlabelled one, the operator.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import kubernetes
from kopf.testing import KopfRunner

from storybang_operator import k8s
from storybang_testing.kube import eventually
from tests.cluster import resources
from tests.cluster.conftest import OPERATOR_ENV
from tests.cluster.resources import KUBECONFIG

# Changes of each Deployment counted, in rounds that alternate between the two Deployments so
# that other traffic (bookmarks, Deployments of other namespaces) falls on both counts alike.
ROUNDS, CHANGES = 5, 20
# Far longer than the tests: a resource re-examined within them was nudged, not resynced.
LONG_RESYNC = "3600"


def _deployment(name: str, labels: dict[str, str]) -> dict[str, Any]:
    pod_labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "c",
                            "image": "example.invalid/none:1",
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def _deployment_events(api: kubernetes.client.ApiClient) -> float:
    request = api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    text = api.call_api(*request).read().decode()
    pattern = r'^apiserver_watch_events_total\{group="apps",resource="deployments",version="v1"\} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _events_for_changes(api: kubernetes.client.ApiClient, namespace: str, name: str, round_: int) -> float:
    apps = kubernetes.client.AppsV1Api(api)
    before = _deployment_events(api)
    for n in range(CHANGES):
        change = {"metadata": {"annotations": {"example.com/change": f"{round_}-{n}"}}}
        apps.patch_namespaced_deployment(name, namespace, change)
    time.sleep(1)  # the events are sent
    return _deployment_events(api) - before


def test_an_unlabelled_deployment_is_never_sent_to_the_operator(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    apps = kubernetes.client.AppsV1Api(api)
    apps.create_namespaced_deployment(
        namespace, _deployment("ours", {"app.kubernetes.io/managed-by": "storybang-operator"})
    )
    apps.create_namespaced_deployment(namespace, _deployment("theirs", {"app.kubernetes.io/managed-by": "helm"}))
    # The operator is running and watching once it has reconciled a Platform.
    resources.apply(api, namespace, resources.example("platform.yaml"))
    eventually(
        lambda: resources.ready(resources.status(api, namespace, "platforms", "storybang")).get("status") == "True"
    )
    time.sleep(2)  # the controller manager has written the Deployments' status and ReplicaSets
    theirs = ours = 0.0
    for round_ in range(ROUNDS):
        theirs += _events_for_changes(api, namespace, "theirs", round_)
        ours += _events_for_changes(api, namespace, "ours", round_)
    # Every other watcher of Deployments saw both, the operator ours only: ours count one event
    # more per change. Were the unlabelled one sent to it too, the counts would be alike.
    changes = ROUNDS * CHANGES
    assert theirs >= changes
    assert ours - theirs >= changes / 2, (ours, theirs)


def _secret(core: kubernetes.client.CoreV1Api, namespace: str, name: str, data: dict[str, str]) -> None:
    body = {"metadata": {"name": name}, "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    core.replace_namespaced_secret(name, namespace, body)


def _queue_observed(api: kubernetes.client.ApiClient, namespace: str) -> dict[str, Any]:
    st = resources.status(api, namespace, "generators", "story")
    return next((c for c in st.get("conditions", []) if c["type"] == "QueueObserved"), {})


def test_a_generator_waiting_for_a_secret_key_is_re_examined_when_the_key_is_added(
    api: kubernetes.client.ApiClient, namespace: str
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    # The Platform's Redis Secret without the URL the operator reads the queue depth with.
    _secret(core, namespace, "storybang-redis", {"address": "127.0.0.1:1", "password": "p"})
    generator = {
        "apiVersion": "storybang.io/v1alpha1",
        "kind": "Generator",
        "metadata": {"name": "story"},
        "spec": {
            "platformRef": {"name": "storybang"},
            "task": "story",
            "backends": [{"name": "local", "external": {"baseURL": "http://127.0.0.1:1/v1", "model": "m"}}],
            "workers": {"minReplicas": 1, "maxReplicas": 1},
        },
    }
    env = OPERATOR_ENV | {"STORYBANG_OPERATOR_RESYNC_SECONDS": LONG_RESYNC}
    args = ["run", "--standalone", "--namespace", namespace, "-m", "storybang_operator"]
    with KopfRunner(args, timeout=120, env=env) as runner:
        resources.apply(api, namespace, resources.example("platform.yaml"))
        resources.apply(api, namespace, generator)
        eventually(lambda: _queue_observed(api, namespace).get("reason") == "SecretKeyNotFound")
        eventually(
            lambda: resources.ready(resources.status(api, namespace, "generators", "story")).get("status") == "True"
        )
        time.sleep(3)  # nothing else is left to nudge it: its Deployment and pods have settled
        assert _queue_observed(api, namespace)["reason"] == "SecretKeyNotFound"
        fixed = time.monotonic()
        _secret(core, namespace, "storybang-redis", {"url": "redis://127.0.0.1:1/0", "address": "127.0.0.1:1"})
        condition = eventually(
            lambda: (c := _queue_observed(api, namespace)).get("reason") != "SecretKeyNotFound" and c, timeout=30
        )
        took = time.monotonic() - fixed
    assert runner.exception is None, runner.output
    # The Secret is there now with its key: what stops the queue being read is Redis itself.
    assert condition["status"] == "False"
    assert "Secret" not in condition["message"]
    assert took < float(LONG_RESYNC) / 100, took


def test_a_secret_is_read_as_its_metadata_never_its_data(namespace: str) -> None:
    assert KUBECONFIG
    api = k8s.Api.connect(kubeconfig=KUBECONFIG, timeout=10, crd_cache_seconds=0)
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=KUBECONFIG))
    created = core.create_namespaced_secret(
        namespace, {"metadata": {"name": "api-key"}, "stringData": {"key": "s3cret"}}
    )
    found = api.metadata("v1", "Secret", namespace, "api-key")
    assert found["kind"] == "PartialObjectMetadata"
    assert found["metadata"]["resourceVersion"] == created.metadata.resource_version
    assert "data" not in found
    assert "s3cret" not in repr(found)
    assert api.metadata("v1", "Secret", namespace, "no-such-secret") is None


def test_a_child_written_after_its_owner_was_pruned_goes_at_the_next_prune(namespace: str) -> None:
    """A pass that began before its owner changed may apply a child that a newer pass has just
    pruned (the HPA of autoscaling turned off, applied again by the pass before): the next prune
    with the same children to keep lists them again and deletes it, rather than trust the one it
    remembers."""
    assert KUBECONFIG
    api = k8s.Api.connect(kubeconfig=KUBECONFIG, timeout=10, crd_cache_seconds=0)
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=KUBECONFIG))
    uid = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}}).metadata.uid

    def child(name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"storybang.io/owner-uid": uid},
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}],
            },
        }

    kinds, keep = [("v1", "ConfigMap")], [child("kept")]
    api.ensure(child("kept"), owner_uid=uid)
    assert api.prune(uid, namespace, kinds, keep) == []
    assert api.prune(uid, namespace, kinds, keep) == []  # remembered: no list
    api.ensure(child("stale"), owner_uid=uid)  # the older pass, after the newer one pruned
    assert api.prune(uid, namespace, kinds, keep) == ["ConfigMap/stale"]
    children = core.list_namespaced_config_map(namespace, label_selector=f"storybang.io/owner-uid={uid}").items
    assert [c.metadata.name for c in children] == ["kept"]


def _lists_of(api: kubernetes.client.ApiClient, resource: str) -> float:
    """LIST requests the API server has answered for `resource`, all clients together."""
    request = api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    text = api.call_api(*request).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("apiserver_request_total{") and f'resource="{resource}"' in line and 'verb="LIST"' in line
    )


def test_a_converged_resource_is_resynced_without_listing_its_children(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    """A pass prunes (lists each kind of child, by the owner's label) once per owner and process,
    and again only when the children to keep change: later passes of a converged DomainService
    list none of its PodDisruptionBudgets (which nothing else lists: the controllers watch)."""
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("domain-services.yaml", "stories"))
    eventually(
        lambda: resources.ready(resources.status(api, namespace, "domainservices", "stories")).get("status") == "True",
        60,
    )
    # The namespace controller lists every kind in a namespace it empties: the earlier tests' first.
    core = kubernetes.client.CoreV1Api(api)
    eventually(lambda: all(ns.status.phase != "Terminating" for ns in core.list_namespace().items), 120)
    before = _lists_of(api, "poddisruptionbudgets")
    time.sleep(4 * resources.RESYNC)  # a few resync passes over the converged resources
    assert _lists_of(api, "poddisruptionbudgets") == before

    # A change of what to keep prunes again: without autoscaling, the HPA goes.
    autoscaling = kubernetes.client.AutoscalingV2Api(api)
    eventually(lambda: autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items, 30)
    patch = {"spec": {"autoscaling": None}}
    kubernetes.client.CustomObjectsApi(api).patch_namespaced_custom_object(
        "storybang.io", "v1alpha1", namespace, "domainservices", "stories", patch
    )
    eventually(lambda: not autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items, 30)
