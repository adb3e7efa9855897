"""Fixtures of the end-to-end tests.

Session: the cluster (`scripts/cluster.sh up`, or a kind context with E2E_CLUSTER=kind), a volume
provisioner and a Redis, the Helm release of charts/storybang in a namespace where Pod Security
"restricted" is enforced, and a kubeconfig holding a token of the release's operator
ServiceAccount. Per test: fresh namespaces with the Secrets a Platform names, and operators run
out of the cluster (`kopf run -m storybang_operator`) with that kubeconfig, so that the chart's
RBAC is what every request of theirs goes through.

Nothing here skips: a cluster that cannot be had is an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster import VolumeProvisioner, cluster_for_tests
from kube import CHART, RESTRICTED, Cluster, eventually_gone
from operator_process import OperatorProcess
from storybang_testing.kube import eventually, service_account_kubeconfig
from storybang_testing.redis import redis_server

RELEASE = "storybang"
GPU_POOL = {"storybang.io/pool": "gpu"}  # what manifests/modelserver-gpu-vllm-story.yaml asks for
StartOperator = Callable[..., OperatorProcess]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test, for fixtures that print logs on failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def failed(request: pytest.FixtureRequest) -> bool:
    return any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))


# --- session -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with cluster_for_tests() as found:
        # The GPU node stands in for a GPU node pool, as the GPU example's nodeSelector expects.
        labels = ",".join(f"{k}={v}" for k, v in GPU_POOL.items())
        found.kubectl("label", "node", "kwok-gpu-0", labels, "--overwrite")
        yield found


@pytest.fixture(scope="session")
def volumes(cluster: Cluster) -> Iterator[VolumeProvisioner]:
    with VolumeProvisioner(cluster) as provisioner:
        yield provisioner


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


@dataclasses.dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    service_account: str
    install_output: str


@pytest.fixture(scope="session")
def release(cluster: Cluster, volumes: VolumeProvisioner) -> Iterator[Release]:
    """`helm install` of the chart, waiting for its workloads (the datastores' StatefulSets, the
    operator's Deployment: kwok runs their pods), in a namespace that enforces "restricted"."""
    namespace = RELEASE
    with contextlib.suppress(AssertionError):  # a release left by an interrupted run
        cluster.helm("uninstall", RELEASE, "-n", namespace, "--wait")
    cluster.delete_namespace(namespace)
    eventually_gone(lambda: cluster.core.read_namespace(namespace), 120)
    cluster.core.create_namespace({"metadata": {"name": namespace, "labels": RESTRICTED}})
    eventually(lambda: cluster.core.read_namespaced_service_account("default", namespace), 30)
    done = cluster.helm("install", RELEASE, str(CHART), "-n", namespace, "--wait", "--timeout", "5m")
    [account] = cluster.core.list_namespaced_service_account(
        namespace, label_selector="app.kubernetes.io/component=operator"
    ).items
    yield Release(RELEASE, namespace, account.metadata.name, done.stdout + done.stderr)
    cluster.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m")
    cluster.delete_namespace(namespace)


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: Cluster, release: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig that authenticates as the release's operator ServiceAccount, with a token of
    the TokenRequest API: what the pod would get mounted."""
    token = cluster.kubectl(
        "-n", release.namespace, "create", "token", release.service_account, "--duration=4h"
    ).stdout.strip()
    path = tmp_path_factory.mktemp("operator") / "kubeconfig"
    return service_account_kubeconfig(cluster.kubeconfig, token, path, release.service_account)


# --- namespaces and operators --------------------------------------------------------------


def platform_secrets(cluster: Cluster, namespace: str, redis_url: str, *, db: int = 0) -> None:
    """The Secrets manifests/ names: datastores (a real Redis; the SQL and document stores are
    never dialled here), the signing key, SMTP, and the API keys of the backends."""
    address = redis_url.removeprefix("redis://")
    secrets = {
        "storybang-redis": {
            "url": f"{redis_url}/{db}",
            "address": address,
            "password": "",
        },
        "storybang-mysql": {"url": "mysql+asyncmy://storybang:secret@mysql:3306/storybang"},
        "storybang-mongo": {"url": "mongodb://storybang:secret@mongodb:27017/storybang"},
        "storybang-signing-key": {"signing-key": "not a key: no pod runs here"},
        "storybang-smtp": {"password": "secret"},
        "xai-api-key": {"api-key": "xai-not-a-key"},
        "huggingface-token": {"token": "hf-not-a-token"},
    }
    for name, data in secrets.items():
        cluster.create_secret(namespace, name, data)


@contextlib.contextmanager
def fresh_namespace(cluster: Cluster, redis_url: str, prefix: str, *, db: int = 0) -> Iterator[str]:
    name = cluster.create_namespace(prefix)
    platform_secrets(cluster, name, redis_url, db=db)
    try:
        yield name
    finally:
        cluster.delete_namespace(name)


@contextlib.contextmanager
def operators(kubeconfig: Path, log_dir: Path, request: pytest.FixtureRequest) -> Iterator[StartOperator]:
    """Start operators on demand; stop them at the end, print their logs when the test failed,
    and fail when the API server refused any of them something (RBAC too narrow)."""
    started: list[OperatorProcess] = []

    def start(*namespaces: str, **env: str) -> OperatorProcess:
        log = log_dir / f"operator-{len(started)}.log"
        process = OperatorProcess(kubeconfig, namespaces, log, env)
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.stop()
        if failed(request):
            for process in started:
                print(f"----- {process.log_path}\n{process.log()[-20000:]}")
    refused = [line for process in started for line in process.forbidden()]
    assert not refused, "the operator's RBAC refused it:\n" + "\n".join(refused)


@pytest.fixture
def namespace(cluster: Cluster, redis_url: str, release: Release) -> Iterator[str]:
    """A fresh namespace, Pod Security "restricted" enforced, with the Platform's Secrets."""
    with fresh_namespace(cluster, redis_url, "e2e") as name:
        yield name


@pytest.fixture
def start_operator(
    operator_kubeconfig: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[StartOperator]:
    with operators(operator_kubeconfig, tmp_path, request) as start:
        yield start
