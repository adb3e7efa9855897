"""The storybang image on the real node (`CLUSTER_NODE=real scripts/cluster.sh up`): a container
that containerd and runc really start, in a namespace where Pod Security "restricted" is enforced,
Ready by its own readiness probe and answering over its pod IP and its Service from the host, and
found by its Service's name from another pod through the cluster DNS.

These tests carry the marker `real_node`. `scripts/e2e.sh` (part of `make test`) starts the cluster
with its real node and builds the image, and runs them with the rest; `scripts/e2e.sh real` runs
them alone (`pytest -m real_node`). A cluster without the node fails them, saying so.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kube import REPO, Cluster
from storybang_testing.kube import eventually, wait_connectable

pytestmark = pytest.mark.real_node
log = logging.getLogger("e2e")

REAL_NODE = "storybang-node-0"  # scripts/cluster.sh's node_name
REAL_NODE_TAINT = "storybang.io/real-node"
IMAGE = os.environ.get("STORYBANG_E2E_IMAGE", "localhost/storybang:dev")
PORT = 8000
UID = 10001  # docker/storybang.Dockerfile's user, which the chart expects
# Only pods that ask for the real node, and tolerate its taint, land there.
ON_REAL_NODE = {
    "nodeSelector": {"kubernetes.io/hostname": REAL_NODE},
    "tolerations": [{"key": REAL_NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
}
# As restricted as the chart's containers: no privilege escalation, read-only root file system, no
# capabilities.
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


@pytest.fixture(scope="module")
def image(cluster: Cluster) -> str:
    """The image, from podman's storage into the node's containerd (`scripts/cluster.sh load`)."""
    if not any(node.metadata.name == REAL_NODE for node in cluster.core.list_node().items):
        pytest.fail(f"the cluster has no node {REAL_NODE}: start it with CLUSTER_NODE=real (scripts/e2e.sh does)")
    started = time.monotonic()
    subprocess.run(
        [str(REPO / "scripts" / "cluster.sh"), "load", IMAGE],
        env={**os.environ, "CLUSTER_STATE": str(cluster.kubeconfig.parent)},
        check=True,
        timeout=600,
    )
    log.info("%s imported into containerd in %.1fs", IMAGE, time.monotonic() - started)
    return IMAGE


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = cluster.create_namespace("real-node")  # enforce=restricted, as every StoryBang namespace
    yield name
    cluster.delete_namespace(name)


def dev_pod(image: str) -> dict[str, Any]:
    """`storybang dev` (every API on embedded stores), as restricted as the chart's pods: non-root,
    read-only root file system with /tmp an emptyDir, no capabilities, RuntimeDefault seccomp."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "storybang", "labels": {"app": "storybang"}},
        "spec": {
            **ON_REAL_NODE,
            "automountServiceAccountToken": False,
            # As the operator's pods: the Service "storybang" would otherwise put STORYBANG_SERVICE_HOST
            # and friends in the environment, names the services refuse to start with.
            "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "storybang",
                    "image": image,
                    "imagePullPolicy": "Never",  # imported, never pulled: no registry here
                    "args": ["dev", "--host", "0.0.0.0", "--port", str(PORT), "--data-dir", "/tmp/storybang"],
                    "ports": [{"name": "http", "containerPort": PORT}],
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 2},
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
                    "securityContext": RESTRICTED_CONTAINER,
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                }
            ],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


def service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "storybang"},
        "spec": {"selector": {"app": "storybang"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }


# Run in the image's Python: the Service's address by its short name (the namespace's search path)
# and by its full name, then /readyz by the short name. Retried for a while, as kube-proxy's rules
# for a new Service take a moment; the last error is the pod's failure.
DNS_CLIENT = """
import json, socket, sys, time, urllib.request
service, namespace = sys.argv[1:]
names = [service, f"{service}.{namespace}.svc.cluster.local"]
deadline = time.monotonic() + 30
while True:
    try:
        addresses = {name: socket.gethostbyname(name) for name in names}
        with urllib.request.urlopen(f"http://{service}/readyz", timeout=5) as response:
            readyz = json.load(response)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(1)
with open("/etc/resolv.conf") as f:
    resolv_conf = f.read()
print(json.dumps({"addresses": addresses, "readyz": readyz, "resolv_conf": resolv_conf}))
"""


def dns_client_pod(image: str, namespace: str) -> dict[str, Any]:
    """A pod of the same image that runs DNS_CLIENT against the Service "storybang" once, and prints
    what it found as JSON."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "dns-client"},
        "spec": {
            **ON_REAL_NODE,
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "client",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", DNS_CLIENT, "storybang", namespace],
                    "securityContext": RESTRICTED_CONTAINER,
                }
            ],
        },
    }


def ready_pod(cluster: Cluster, namespace: str) -> Any:
    pod = cluster.core.read_namespaced_pod("storybang", namespace)
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    return pod if ready else None


def test_storybang_pod_is_ready_by_its_probe_and_answers_from_the_host(
    cluster: Cluster, namespace: str, image: str
) -> None:
    node = cluster.core.read_node(REAL_NODE)
    assert node.status.node_info.container_runtime_version.startswith("containerd://")

    warnings = cluster.apply(namespace, [dev_pod(image), service()])
    assert "violate PodSecurity" not in warnings
    started = time.monotonic()
    pod = eventually(lambda: ready_pod(cluster, namespace), timeout=180)
    log.info("pod Ready by its readiness probe %.1fs after it was created", time.monotonic() - started)

    # A container that containerd started and whose probe the kubelet ran, on the real node.
    assert pod.spec.node_name == REAL_NODE
    (status,) = pod.status.container_statuses
    assert status.ready and status.started
    assert status.container_id.startswith("containerd://")
    assert status.restart_count == 0

    # The host reaches the pod over the bridge, and the Service through kube-proxy's rules.
    ready = httpx.get(f"http://{pod.status.pod_ip}:{PORT}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    cluster_ip = cluster.core.read_namespaced_service("storybang", namespace).spec.cluster_ip
    wait_connectable(cluster_ip, 80, timeout=30)
    health = httpx.get(f"http://{cluster_ip}/healthz", timeout=5)
    assert health.json() == {"status": "ok"}

    # As the image says and the chart expects: its own user, whatever the runtime's default.
    whoami = cluster.kubectl("exec", "-n", namespace, "storybang", "--", "id", "-u")
    assert whoami.stdout.strip() == str(UID)


def finished_pod(cluster: Cluster, namespace: str, name: str) -> Any:
    pod = cluster.core.read_namespaced_pod(name, namespace)
    return pod if pod.status.phase in ("Succeeded", "Failed") else None


def test_pod_on_the_real_node_reaches_a_service_by_its_name(cluster: Cluster, namespace: str, image: str) -> None:
    cluster.apply(namespace, [dev_pod(image), service()])
    eventually(lambda: ready_pod(cluster, namespace), timeout=180)
    cluster_ip = cluster.core.read_namespaced_service("storybang", namespace).spec.cluster_ip

    started = time.monotonic()
    cluster.apply(namespace, [dns_client_pod(image, namespace)])
    pod = eventually(lambda: finished_pod(cluster, namespace, "dns-client"), timeout=120)
    output = cluster.core.read_namespaced_pod_log("dns-client", namespace)
    assert pod.status.phase == "Succeeded", f"the client found no Service by its name:\n{output}"
    log.info("a Service reached by its name from a pod %.1fs after the pod was created", time.monotonic() - started)
    found = json.loads(output.splitlines()[-1])

    # The pod's resolver is the cluster's DNS behind its Service, kube-system/kube-dns, with the
    # search path of the pod's namespace, as the kubelet writes it.
    dns_ip = cluster.core.read_namespaced_service("kube-dns", "kube-system").spec.cluster_ip
    assert f"nameserver {dns_ip}\n" in found["resolv_conf"], found["resolv_conf"]
    assert f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local" in found["resolv_conf"]

    # Both names are the Service's address, and the server answered through it.
    assert found["addresses"] == {"storybang": cluster_ip, f"storybang.{namespace}.svc.cluster.local": cluster_ip}
    assert found["readyz"]["status"] == "ok"
