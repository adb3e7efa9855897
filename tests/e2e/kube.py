"""The test cluster as its administrator sees it: the Kubernetes client for reads and writes,
kubectl and helm for what a person types, and `eventually` for what controllers do in their time.

Nothing here knows StoryBang's rules; the tests say what they expect.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from storybang_testing.kube import eventually

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
MANIFESTS = REPO / "manifests"
CHART = REPO / "charts" / "storybang"
CRDS_CHART = REPO / "charts" / "storybang-crds"
# The commit of the release the upgrade tests start from (the file says which and why).
PREVIOUS = next(
    line
    for line in (Path(__file__).parent / "previous-release").read_text().splitlines()
    if line.strip() and not line.startswith("#")
).strip()
GROUP, VERSION = "storybang.io", "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PLURALS = {
    "Platform": "platforms",
    "DomainService": "domainservices",
    "Generator": "generators",
    "ModelServer": "modelservers",
}
# Every pod of a StoryBang namespace must pass the Pod Security Standard "restricted": refused
# (enforce), reported to the client (warn) and recorded (audit).
RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
OWNER_UID_LABEL = "storybang.io/owner-uid"


def eventually_gone(read: Callable[[], Any], timeout: float = 60.0) -> None:
    """Until `read` answers 404."""

    def gone() -> bool:
        try:
            read()
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    eventually(gone, timeout=timeout)


def previous_chart(directory: Path) -> Path:
    """The chart of the PREVIOUS release, from git, unpacked under `directory`."""
    archive = directory / "chart.tar"
    git = ["git", "-C", str(REPO), "archive", "-o", str(archive), PREVIOUS, "charts/storybang"]
    subprocess.run(git, check=True, timeout=60)
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    return directory / "charts" / "storybang"


def previous_crds_as_helm_left_them(cluster: Cluster, chart: Path) -> None:
    """The CRDs of the previous chart, with no release owning them: what `helm install` of it made
    (in this cluster other tests may have installed newer ones first; they are replaced)."""
    for path in sorted((chart / "crds").glob("*.yaml")):
        replaced = cluster.kubectl("replace", "-f", str(path), check=False)
        if replaced.returncode != 0:
            assert "NotFound" in replaced.stderr, replaced.stderr
            cluster.kubectl("create", "-f", str(path))


@contextlib.contextmanager
def release_namespace(cluster: Cluster, prefix: str, releases: Iterable[str]) -> Iterator[str]:
    """A fresh namespace for Helm releases; afterwards the releases are uninstalled and the
    namespace deleted (with the claims the chart keeps, and so the provisioner's volumes)."""
    name = cluster.create_namespace(prefix)
    try:
        yield name
    finally:
        for release in releases:
            cluster.helm("uninstall", release, "-n", name, "--wait", "--ignore-not-found", "--timeout", "3m")
        cluster.delete_namespace(name)


def tool(name: str) -> str:
    """bin/<name> as `scripts/cluster.sh build` makes it, else the one on the PATH."""
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run scripts/cluster.sh build")
    return found


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def example(filename: str, name: str | None = None) -> dict[str, Any]:
    """One resource of manifests/<filename> (the first, or the one called `name`)."""
    return next(d for d in load_docs(MANIFESTS / filename) if name in (None, d["metadata"]["name"]))


def examples() -> list[dict[str, Any]]:
    """Every resource of manifests/, in file order."""
    return [d for path in sorted(MANIFESTS.glob("*.yaml")) for d in load_docs(path)]


def ready_condition(obj: Mapping[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((dict(c) for c in conditions if c.get("type") == "Ready"), {})


@dataclasses.dataclass
class Cluster:
    """A cluster reached through an administrator's kubeconfig."""

    kubeconfig: Path
    name: str = "local"

    def __post_init__(self) -> None:
        self.api = kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))
        self.core = kubernetes.client.CoreV1Api(self.api)
        self.apps = kubernetes.client.AppsV1Api(self.api)
        self.autoscaling = kubernetes.client.AutoscalingV2Api(self.api)
        self.networking = kubernetes.client.NetworkingV1Api(self.api)
        self.policy = kubernetes.client.PolicyV1Api(self.api)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)
        self.extensions = kubernetes.client.ApiextensionsV1Api(self.api)

    # --- what a person types --------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [tool("kubectl"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self._env(),
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done

    def helm(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [tool("helm"), *args],
            capture_output=True,
            text=True,
            env=self._env(),
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed: {done.stdout}\n{done.stderr}")
        return done

    def apply(self, namespace: str, docs: Iterable[Mapping[str, Any]]) -> str:
        """`kubectl apply -f` of resources into a namespace, as a person would; its warnings."""
        text = yaml.safe_dump_all([dict(d) for d in docs])
        return self.kubectl("apply", "-n", namespace, "-f", "-", stdin=text).stderr

    # --- namespaces -------------------------------------------------------------------------

    def create_namespace(self, prefix: str, *, labels: Mapping[str, str] | None = None) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.core.create_namespace({"metadata": {"name": name, "labels": {**RESTRICTED, **(labels or {})}}})
        # Pods are refused until the service-account controller has made the default account.
        eventually(lambda: self.core.read_namespaced_service_account("default", name), 30)
        return name

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except kubernetes.client.ApiException as e:
            if e.status != 404:
                raise

    def create_secret(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        self.core.create_namespaced_secret(
            namespace,
            {
                "metadata": {"name": name},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )

    # --- StoryBang resources ----------------------------------------------------------------

    def get(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name)
        return obj

    def resources(self, namespace: str, kind: str) -> list[dict[str, Any]]:
        found = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind])
        return list(found["items"])

    def patch(self, namespace: str, kind: str, name: str, patch: Mapping[str, Any]) -> None:
        """A JSON merge patch of a resource (null deletes a field)."""
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name, dict(patch))

    def delete(self, namespace: str, kind: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name)

    def ready(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        """The Ready condition of a resource, written for its current generation."""
        obj = self.get(namespace, kind, name)
        condition = ready_condition(obj)
        current = condition.get("observedGeneration") == obj["metadata"]["generation"]
        return condition if current else {}

    def wait_ready(self, namespace: str, kind: str, name: str, timeout: float = 90) -> None:
        eventually(
            lambda: self.ready(namespace, kind, name).get("status") == "True",
            timeout=timeout,
        )

    def wait_all_ready(self, namespace: str, docs: Iterable[Mapping[str, Any]], timeout: float = 120) -> None:
        pending = {(d["kind"], d["metadata"]["name"]) for d in docs}

        def none_pending() -> bool:
            for kind, name in sorted(pending):
                if self.ready(namespace, kind, name).get("status") == "True":
                    pending.discard((kind, name))
            return not pending

        try:
            eventually(none_pending, timeout=timeout)
        except AssertionError as e:
            states = {f"{k}/{n}": self.ready(namespace, k, n) or "no current Ready" for k, n in sorted(pending)}
            raise AssertionError(f"not Ready after {timeout}s: {states}") from e

    def events(self, namespace: str) -> list[Any]:
        return list(self.core.list_namespaced_event(namespace).items)

    def children(self, namespace: str, owner_uid: str) -> dict[str, list[str]]:
        """The objects that carry an owner's uid label, by kind."""
        selector = f"{OWNER_UID_LABEL}={owner_uid}"
        lists: dict[str, Callable[..., Any]] = {
            "Deployment": self.apps.list_namespaced_deployment,
            "Service": self.core.list_namespaced_service,
            "ConfigMap": self.core.list_namespaced_config_map,
            "ServiceAccount": self.core.list_namespaced_service_account,
            "PersistentVolumeClaim": self.core.list_namespaced_persistent_volume_claim,
            "HorizontalPodAutoscaler": self.autoscaling.list_namespaced_horizontal_pod_autoscaler,
            "PodDisruptionBudget": self.policy.list_namespaced_pod_disruption_budget,
            "Ingress": self.networking.list_namespaced_ingress,
            "NetworkPolicy": self.networking.list_namespaced_network_policy,
        }
        found = {
            kind: sorted(o.metadata.name for o in list_(namespace, label_selector=selector).items)
            for kind, list_ in lists.items()
        }
        return {kind: names for kind, names in found.items() if names}
