"""Where the e2e tests run, and the few things a kubelet-less cluster lacks.

- local (default): `scripts/cluster.sh up` starts a real control plane with two kwok fake nodes,
  and `down` stops it; or STORYBANG_E2E_KUBECONFIG names one that is already up (scripts/e2e.sh
  starts it once for every suite), and then whoever started it stops it.
- kind (`E2E_CLUSTER=kind`): the current kubeconfig context, which must be a kind cluster (a
  throwaway one: the session cordons its nodes, adds kwok's fake nodes and takes the default
  StorageClass flag off, and puts all of it back at the end), so that pods land on fake nodes and
  behave as they do locally.

Neither runs a storage provisioner for fake nodes, so `VolumeProvisioner` stands in for one (as
local-path-provisioner would, it makes a volume per claim), and the operator's queue depths come
from a real `redis-server` on a private port.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from kube import REPO, Cluster, tool
from storybang_testing.kube import FAKE_NODE, fake_nodes

log = logging.getLogger("e2e")
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
# Where VolumeProvisioner makes its volumes (the end-to-end tests run as root).
VOLUMES = Path("/var/lib/storybang-e2e")


@contextlib.contextmanager
def local_cluster() -> Iterator[Cluster]:
    given = os.environ.get("STORYBANG_E2E_KUBECONFIG")
    if given:
        yield Cluster(Path(given))
        return
    script = REPO / "scripts" / "cluster.sh"
    for binary in ("kube", "kwok", "helm"):
        if not (REPO / "bin" / binary).exists():
            raise RuntimeError(f"bin/{binary} is missing: run scripts/cluster.sh build")
    subprocess.run([str(script), "up"], check=True, timeout=300)
    try:
        yield Cluster(REPO / ".cluster" / "kubeconfig")
    finally:
        subprocess.run([str(script), "down"], check=False, timeout=120)


def kind_kubeconfig() -> Path:
    """The kubeconfig of the current context, which must be a kind cluster's."""
    _, current = kubernetes.config.list_kube_config_contexts()
    if not current["name"].startswith("kind-"):
        raise RuntimeError(f"E2E_CLUSTER=kind, but the current context is {current['name']!r}")
    return Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()


class KindPreparation:
    """Makes a throwaway kind cluster behave as the local one, and undoes it: kwok's fake nodes
    (kwok runs here, in a session of its own), the real nodes cordoned so that every pod lands on
    a fake one, and the default StorageClass flag taken off so that claims wait for
    `VolumeProvisioner`. What was changed is kept in STATE, so that another process can undo it
    (scripts/e2e.sh prepares once for both test suites)."""

    STATE = REPO / ".cluster" / "kind" / "state.json"

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def up(self) -> None:
        cluster = self.cluster
        storage = kubernetes.client.StorageV1Api(cluster.api)
        state: dict[str, Any] = {
            "cordoned": [n.metadata.name for n in cluster.core.list_node().items
                         if not (n.metadata.annotations or {}).get(FAKE_NODE)],
            "default_classes": [
                sc.metadata.name
                for sc in storage.list_storage_class().items
                if (sc.metadata.annotations or {}).get(DEFAULT_CLASS) == "true"
            ],
        }  # fmt: skip
        self.STATE.parent.mkdir(parents=True, exist_ok=True)
        log = (self.STATE.parent / "kwok.log").open("wb")
        kwok = subprocess.Popen(
            [
                tool("kwok"),
                f"--kubeconfig={cluster.kubeconfig}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={FAKE_NODE}=fake",
                "--cidr=10.244.0.1/16",
                "--node-ip=127.0.0.1",
                "--node-lease-duration-seconds=40",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `cluster.py kind-up`
        )
        state["kwok_pid"] = kwok.pid
        self.STATE.write_text(json.dumps(state))
        for name in state["cordoned"]:
            cluster.kubectl("cordon", name)
        for name in state["default_classes"]:
            cluster.kubectl("annotate", "storageclass", name, f"{DEFAULT_CLASS}-")
        cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(fake_nodes()))
        cluster.kubectl("wait", "--for=condition=Ready", "node", "-l", "type=kwok", "--timeout=60s")

    def down(self) -> None:
        if not self.STATE.exists():
            return
        state = json.loads(self.STATE.read_text())
        cluster = self.cluster
        cluster.kubectl("delete", "node", "-l", "type=kwok", "--wait=false", check=False)
        for name in state["default_classes"]:
            cluster.kubectl("annotate", "storageclass", name, f"{DEFAULT_CLASS}=true", check=False)
        for name in state["cordoned"]:
            cluster.kubectl("uncordon", name, check=False)
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["kwok_pid"]), signal.SIGTERM)
        self.STATE.unlink()


@contextlib.contextmanager
def kind_cluster() -> Iterator[Cluster]:
    """The current kind context, prepared for the session and put back afterwards."""
    preparation = KindPreparation(Cluster(kind_kubeconfig(), name="kind"))
    preparation.up()
    try:
        yield preparation.cluster
    finally:
        preparation.down()


@contextlib.contextmanager
def cluster_for_tests() -> Iterator[Cluster]:
    kind = os.environ.get("E2E_CLUSTER", "local")
    if kind not in ("local", "kind"):
        raise RuntimeError(f"E2E_CLUSTER must be local or kind, not {kind!r}")
    with kind_cluster() if kind == "kind" else local_cluster() as cluster:
        yield cluster


class VolumeProvisioner:
    """Binds every pending claim without a class to a volume made for it, and deletes volumes
    whose claim is gone: a stand-in for a dynamic provisioner, which this cluster does not have
    (no CSI driver). Each volume is a directory of this machine (hostPath), which the real node's
    pods mount: it is made here, writable by the pod's non-root user (a hostPath volume gets no
    fsGroup), and removed with its volume. Fake nodes' pods never mount theirs."""

    def __init__(self, cluster: Cluster, *, interval: float = 0.5) -> None:
        self._core = cluster.core
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="volume-provisioner", daemon=True)
        self.provisioned = 0

    def __enter__(self) -> VolumeProvisioner:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._pass()
            except (
                kubernetes.client.ApiException,
                OSError,
            ) as e:  # the next pass retries
                log.warning("volume provisioner: %s", e)

    def _pass(self) -> None:
        for pvc in self._core.list_persistent_volume_claim_for_all_namespaces().items:
            unbound = pvc.status.phase == "Pending" and not pvc.spec.volume_name
            ours = not pvc.spec.storage_class_name  # a class has a provisioner of its own
            if unbound and ours and not self._exists(pvc.metadata.uid):
                self._provision(pvc)
        for pv in self._core.list_persistent_volume(label_selector="storybang.io/e2e=true").items:
            if pv.status.phase in ("Released", "Failed"):
                self._core.delete_persistent_volume(pv.metadata.name)
                shutil.rmtree(pv.spec.host_path.path, ignore_errors=True)

    def _exists(self, uid: str) -> bool:
        try:
            self._core.read_persistent_volume(f"e2e-{uid}")
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    def _provision(self, pvc: Any) -> None:
        directory = VOLUMES / pvc.metadata.uid
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)  # the datastores run as users of their own; nothing else is on it
        self._core.create_persistent_volume(
            {
                "metadata": {
                    "name": f"e2e-{pvc.metadata.uid}",
                    "labels": {"storybang.io/e2e": "true"},
                },
                "spec": {
                    "capacity": {"storage": pvc.spec.resources.requests["storage"]},
                    "accessModes": pvc.spec.access_modes,
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "claimRef": {
                        "namespace": pvc.metadata.namespace,
                        "name": pvc.metadata.name,
                        "uid": pvc.metadata.uid,
                    },
                    "hostPath": {"path": str(directory)},
                },
            }
        )
        self.provisioned += 1


if __name__ == "__main__":
    # scripts/e2e.sh with E2E_CLUSTER=kind: `kind-up` prints the kubeconfig, `kind-down` undoes.
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "kind-up":
        KindPreparation(Cluster(kind_kubeconfig(), name="kind")).up()
        print(kind_kubeconfig())
    elif command == "kind-down":
        KindPreparation(Cluster(kind_kubeconfig(), name="kind")).down()
    else:
        sys.exit("usage: cluster.py kind-up|kind-down")
