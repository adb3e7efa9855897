"""What the cluster tests share: waiting on the API server, kwok's fake nodes, and kubeconfigs
that authenticate as a ServiceAccount.

Also a command, for the shell scripts that start clusters:

    python -m storybang_testing.kube fake-nodes                 the fake nodes, as YAML
    kubectl create token SA | python -m storybang_testing.kube kubeconfig ADMIN OUT
                                                                OUT: ADMIN's cluster, as SA
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import kubernetes
import yaml

from storybang_testing import waiting

T = TypeVar("T")
# kwok manages only the nodes that carry this annotation (--manage-nodes-with-annotation-selector).
FAKE_NODE = "kwok.x-k8s.io/node"
# The nodes of every test cluster: one plain, one standing in for a GPU node pool.
NODES = {"kwok-node-0": 0, "kwok-gpu-0": 2}


def not_found(e: Exception) -> bool:
    """A 404 from the Kubernetes client: what is awaited does not exist yet."""
    return isinstance(e, kubernetes.client.ApiException) and e.status == 404


def eventually(check: Callable[[], T], timeout: float = 60.0, interval: float = 0.5) -> T:
    """`waiting.eventually`, where a 404 from the API server counts as "not yet"."""
    return waiting.eventually(check, timeout, interval, not_yet=not_found)


def wait_connectable(host: str, port: int, timeout: float = 60) -> None:
    """Until ``host:port`` takes TCP connections. A Service's address refuses them until kube-proxy
    has written its rules for the Service's endpoints, a moment after its pods are Ready."""

    def connects() -> bool:
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            return False
        return True

    waiting.eventually(connects, timeout=timeout, interval=0.5)


def fake_node(name: str, *, gpus: int = 0, pods: int = 110) -> dict[str, Any]:
    """A node that kwok keeps Ready and whose pods it marks Running. No taints, so that pods need no
    toleration to land on it."""
    resources = {"cpu": "16", "memory": "64Gi", "ephemeral-storage": "100Gi", "pods": str(pods)}
    labels = {
        "type": "kwok",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        "node-role.kubernetes.io/agent": "",
    }
    if gpus:
        resources["nvidia.com/gpu"] = str(gpus)
        labels["nvidia.com/gpu.present"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": labels,
        },
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake"},
        },
    }


def fake_nodes() -> list[dict[str, Any]]:
    return [fake_node(name, gpus=gpus) for name, gpus in NODES.items()]


def service_account_kubeconfig(admin: Path, token: str, path: Path, user: str = "service-account") -> Path:
    """A kubeconfig for the cluster of the kubeconfig `admin` that authenticates with `token` (from
    the TokenRequest API, `kubectl create token`: what a pod would get mounted). Readable by its
    owner alone."""
    config = yaml.safe_load(admin.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    server = next(c for c in config["clusters"] if c["name"] == context["context"]["cluster"])
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [server],
                "users": [{"name": user, "user": {"token": token}}],
                "contexts": [{"name": user, "context": {"cluster": server["name"], "user": user}}],
                "current-context": user,
            }
        )
    )
    return path


def main(argv: list[str]) -> None:
    match argv:
        case ["fake-nodes"]:
            sys.stdout.write(yaml.safe_dump_all(fake_nodes()))
        case ["kubeconfig", admin, out]:
            service_account_kubeconfig(Path(admin), sys.stdin.read().strip(), Path(out))
        case _:
            sys.exit("usage: python -m storybang_testing.kube fake-nodes | kubeconfig ADMIN OUT (token on stdin)")


if __name__ == "__main__":
    main(sys.argv[1:])
