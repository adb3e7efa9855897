"""Ready says why pods are not ready, on a real API server with the real scheduler and Deployment
controller, shown by `kubectl get` in the Reason column.

kwok stands in for the kubelet (there is none here to pull images or run containers): where a
kubelet would write a container's waiting state (ImagePullBackOff, CrashLoopBackOff,
CreateContainerConfigError, ContainerCreating, a running container not ready yet), the tests
write the same status through the pods' status subresource, and the Warning Event the
attach/detach controller would post for a Multi-Attach error. The scheduler's refusals (no node
with enough GPUs, an unbound PersistentVolumeClaim) are the real scheduler's.
"""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Callable
from typing import Any

import kubernetes

from storybang_testing.kube import eventually
from tests.cluster import resources
from tests.cluster.resources import KUBECONFIG
from tests.conftest import REPO

KUBECTL = REPO / "bin" / "kubectl"
NOT_READY = [
    {"type": "PodScheduled", "status": "True"},
    {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
]


def _pods(core: kubernetes.client.CoreV1Api, namespace: str, instance: str) -> list[Any]:
    found = core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/instance={instance}").items
    return [p for p in found if p.metadata.deletion_timestamp is None]


def _write_status(
    core: kubernetes.client.CoreV1Api, namespace: str, instance: str, state: dict[str, Any], **extra: Any
) -> str:
    """Write one container state into the workload's pod, as a kubelet would; the pod's name.
    The pod IP stays, so kwok leaves the status alone."""
    [pod] = _pods(core, namespace, instance)
    container = pod.spec.containers[0]
    status = {
        "phase": extra.pop("phase", "Running"),
        "conditions": NOT_READY,
        "containerStatuses": [
            {
                "name": container.name,
                "image": container.image,
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "started": False,
                "state": state,
                **extra,
            }
        ],
    }
    core.patch_namespaced_pod_status(
        pod.metadata.name, namespace, {"status": status}, _content_type="application/merge-patch+json"
    )
    return str(pod.metadata.name)


def _reason_becomes(
    api: kubernetes.client.ApiClient, namespace: str, plural: str, name: str, reason: str
) -> dict[str, Any]:
    def shown() -> dict[str, Any]:
        ready = resources.ready(resources.status(api, namespace, plural, name))
        return ready if ready.get("reason") == reason else {}

    ready: dict[str, Any] = eventually(shown, 60)
    assert ready["status"] == "False"
    return ready


def _column(namespace: str, plural: str, name: str, column: str) -> str:
    """A printer column of `kubectl get`, by its header."""
    out = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(KUBECONFIG), "-n", namespace, "get", plural, name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    header, row = out[0].split(), out[1].split()
    return row[header.index(column)]


def _started(api: kubernetes.client.ApiClient, namespace: str, plural: str, name: str) -> Callable[[], bool]:
    return lambda: resources.ready(resources.status(api, namespace, plural, name)).get("status") == "True"


def test_a_generator_says_why_its_workers_pod_is_not_ready(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("modelserver-cpu-transformers.yaml"))
    resources.apply(api, namespace, resources.example("generator-scale-to-zero.yaml"))
    eventually(_started(api, namespace, "generators", "translate"), 90)

    pulling = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "storybang:nope"'}}
    pod = _write_status(core, namespace, "translate", pulling)
    ready = _reason_becomes(api, namespace, "generators", "translate", "ImagePullBackOff")
    assert ready["message"] == f'pod {pod}: container worker: Back-off pulling image "storybang:nope"'
    assert _column(namespace, "generators", "translate", "REASON") == "ImagePullBackOff"

    crashing = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}}
    last = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    _write_status(core, namespace, "translate", crashing, lastState=last, restartCount=3)
    ready = _reason_becomes(api, namespace, "generators", "translate", "CrashLoopBackOff")
    assert ready["message"].endswith("container worker keeps exiting; last exit: OOMKilled (exit code 137)")
    assert _column(namespace, "generators", "translate", "REASON") == "CrashLoopBackOff"

    missing = f"couldn't find key url in Secret {namespace}/storybang-redis"
    config = {"waiting": {"reason": "CreateContainerConfigError", "message": missing}}
    _write_status(core, namespace, "translate", config, phase="Pending")
    ready = _reason_becomes(api, namespace, "generators", "translate", "CreateContainerConfigError")
    assert ready["message"].endswith(missing)
    assert _column(namespace, "generators", "translate", "REASON") == "CreateContainerConfigError"


def test_model_servers_that_cannot_be_placed_say_why(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    resources.apply(api, namespace, resources.example("platform.yaml"))
    greedy = resources.example("modelserver-cpu-transformers.yaml")
    greedy["metadata"]["name"] = "greedy"
    greedy["spec"]["gpu"] = {"count": 4, "resourceName": "nvidia.com/gpu"}  # the one GPU node has 2
    resources.apply(api, namespace, greedy)
    cached = resources.example("modelserver-cpu-transformers.yaml")
    cached["metadata"]["name"] = "cached"
    # No StorageClass here provisions volumes: the claim stays unbound.
    cached["spec"]["cache"] = {"enabled": True, "size": "1Gi"}
    resources.apply(api, namespace, cached)

    ready = _reason_becomes(api, namespace, "modelservers", "greedy", "Unschedulable")
    assert "Insufficient nvidia.com/gpu" in ready["message"]
    assert _column(namespace, "modelservers", "greedy", "REASON") == "Unschedulable"
    ready = _reason_becomes(api, namespace, "modelservers", "cached", "VolumePending")
    assert "unbound immediate PersistentVolumeClaims" in ready["message"]
    assert _column(namespace, "modelservers", "cached", "REASON") == "VolumePending"


def test_a_model_server_reports_a_volume_attached_elsewhere_and_then_loading(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("modelserver-cpu-transformers.yaml"))
    eventually(_started(api, namespace, "modelservers", "smollm2"), 90)
    # A first download may take the whole startup window (30 minutes): no RolloutStuck after 10.
    assert apps.read_namespaced_deployment("smollm2", namespace).spec.progress_deadline_seconds == 2400

    creating = {"waiting": {"reason": "ContainerCreating"}}
    pod = _write_status(core, namespace, "smollm2", creating, phase="Pending")
    multi = 'Multi-Attach error for volume "pvc-0a1b" Volume is already used by pod(s) smollm2-old-x1y2z'
    now = datetime.datetime.now(datetime.UTC)
    core.create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": f"{pod}."},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": namespace},
            "type": "Warning",
            "reason": "FailedAttachVolume",
            "message": multi,
            "source": {"component": "attachdetach-controller"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        },
    )
    ready = _reason_becomes(api, namespace, "modelservers", "smollm2", "VolumeMultiAttach")
    assert ready["message"] == f"pod {pod}: {multi}"
    assert _column(namespace, "modelservers", "smollm2", "REASON") == "VolumeMultiAttach"

    started = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    _write_status(core, namespace, "smollm2", {"running": {"startedAt": started}}, started=True)
    ready = _reason_becomes(api, namespace, "modelservers", "smollm2", "Loading")
    assert started in ready["message"] and "downloading or loading" in ready["message"]
    assert _column(namespace, "modelservers", "smollm2", "REASON") == "Loading"
