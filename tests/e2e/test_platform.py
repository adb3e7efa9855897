"""The chart's whole platform on real pods: `helm install` on the real node, with the images built
here (scripts/images.sh), and a writer's journey through it.

Every pod runs in containerd under runc, in a namespace that enforces Pod Security "restricted":
the operator, each domain API, the web front, the notifier, each generator's workers, the CPU model
server with the bundled model, and the three datastores (Redis, MariaDB and a MongoDB-wire server,
from images made of Debian's packages and FerretDB: no registry is reachable here; the chart's
defaults stay the official images). They are Ready by their own probes; the migrations ran as the
chart's hook. Then a client on the host signs up, logs in, creates a character, has the model
server's pod write a story, follows it over Socket.IO from the notifier's pod, has it translated
and reads it back, every request sent to the Service the platform's Ingress routes its path to (no
ingress controller runs here). A worker killed mid-job and the operator's pod deleted are survived.

While the module runs, the fake nodes are cordoned and the real node's taint is lifted, so that
every pod of the release lands there; both are restored afterwards. Carries the marker `real_node`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from kube import CHART, REPO, Cluster
from storybang_testing.journey import JobEvents, make_an_illustrated_story, wait_job
from storybang_testing.kube import eventually, wait_connectable

pytestmark = pytest.mark.real_node
log = logging.getLogger("e2e")

REAL_NODE = "storybang-node-0"  # scripts/cluster.sh's node_name
REAL_NODE_TAINT = "storybang.io/real-node"
TAG = os.environ.get("STORYBANG_E2E_IMAGE_TAG", "dev")
IMAGES = [
    "storybang",
    "storybang-operator",
    "storybang-inference",
    "storybang-redis",
    "storybang-mariadb",
    "storybang-ferretdb",
]
RELEASE = "sb"
HOST = "storybang.local"
# A killed worker's job comes back once the broker's heartbeat of that worker is this old.
HEARTBEAT_SECONDS = 15
# A short story on llama.cpp takes ~10 s on a quiet two-core machine; a busy one takes longer.
STORY_SECONDS = 300


def local(repository: str, **extra: Any) -> dict[str, Any]:
    """Image values of an image imported into the node: never pulled, there is no registry."""
    return {"registry": "localhost", "repository": repository, "tag": TAG, **extra}


def values() -> dict[str, Any]:
    """The chart's defaults but for the images, smaller CPU requests (every pod fits the two cores
    of one node) and what a cluster without a volume provisioner needs."""
    small = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}
    never = {"pullPolicy": "Never"}
    datastore = {"persistence": {"enabled": False}, "resources": {**small, "limits": {"memory": "512Mi"}}}
    return {
        "operator": {"image": local("storybang-operator", **never), "scope": "namespace"},
        "platform": {
            "image": local("storybang", **never),
            "auth": {"requireVerification": False},
            "settings": {"STORYBANG_WORKER__HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_SECONDS)},
        },
        "ingress": {"host": HOST},
        "domainServices": {
            name: {"resources": small, **({"enabled": True} if name == "web" else {})}
            for name in ("identity", "characters", "stories", "generation", "notifier", "web")
        },
        "generators": {
            "story": {"resources": small},
            "image": {"resources": small},
            "describe": {"resources": small},
            # Offline translation, as a CPU-only platform would choose it.
            "translate": {"resources": small, "backends": [{"name": "apertium", "apertium": {}}]},
        },
        "modelServer": {
            "image": local("storybang-inference"),
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}},
        },
        "redis": {"image": local("storybang-redis", **never), **datastore},
        "mysql": {"image": local("storybang-mariadb", **never), **datastore},
        "mongodb": {"image": local("storybang-ferretdb", **never), **datastore},
    }


def import_images(cluster: Cluster) -> list[str]:
    """The images, from podman's storage into the node's containerd (`scripts/cluster.sh load`)."""
    if not any(node.metadata.name == REAL_NODE for node in cluster.core.list_node().items):
        pytest.fail(f"the cluster has no node {REAL_NODE}: start it with CLUSTER_NODE=real (scripts/e2e.sh does)")
    refs = [f"localhost/{name}:{TAG}" for name in IMAGES]
    started = time.monotonic()
    subprocess.run(
        [str(REPO / "scripts" / "cluster.sh"), "load", *refs],
        env={**os.environ, "CLUSTER_STATE": str(cluster.kubeconfig.parent)},
        check=True,
        timeout=900,
    )
    log.info("%d images imported into containerd in %.1fs", len(refs), time.monotonic() - started)
    return refs


@contextlib.contextmanager
def real_node_only(cluster: Cluster) -> Iterator[None]:
    """Every new pod lands on the real node: the fake ones are cordoned, the real one untainted."""
    fakes = [n.metadata.name for n in cluster.core.list_node().items if n.metadata.name != REAL_NODE]
    for name in fakes:
        cluster.core.patch_node(name, {"spec": {"unschedulable": True}})
    taints = cluster.core.read_node(REAL_NODE).spec.taints or []
    cluster.core.patch_node(REAL_NODE, {"spec": {"taints": [t for t in taints if t.key != REAL_NODE_TAINT]}})
    try:
        yield
    finally:
        for name in fakes:
            cluster.core.patch_node(name, {"spec": {"unschedulable": None}})
        cluster.core.patch_node(REAL_NODE, {"spec": {"taints": [t.to_dict() for t in taints]}})


@pytest.fixture(scope="module")
def images(cluster: Cluster) -> list[str]:
    return import_images(cluster)


@pytest.fixture(scope="module")
def only_the_real_node(cluster: Cluster) -> Iterator[None]:
    with real_node_only(cluster):
        yield


@dataclass(frozen=True)
class Platform:
    namespace: str
    seconds_to_ready: float


def pods_ready(cluster: Cluster, namespace: str) -> bool:
    pods = cluster.core.list_namespaced_pod(namespace).items
    running = [p for p in pods if p.status.phase != "Succeeded"]
    return bool(running) and all(
        any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) for p in running
    )


def pods_of(cluster: Cluster, namespace: str, part: str) -> list[Any]:
    """The pods whose names hold `part` (a workload's name), but for finished ones."""
    pods = cluster.core.list_namespaced_pod(namespace).items
    return [p for p in pods if part in p.metadata.name and p.status.phase != "Succeeded"]


def describe_pods(cluster: Cluster, namespace: str) -> str:
    """Each pod's phase, node and containers' states, and the tail of its logs: what to read when
    the platform did not come up."""
    lines = []
    for pod in cluster.core.list_namespaced_pod(namespace).items:
        lines.append(f"--- {pod.metadata.name}: {pod.status.phase} on {pod.spec.node_name}")
        for status in pod.status.container_statuses or []:
            lines.append(f"    {status.name}: ready={status.ready} restarts={status.restart_count} {status.state}")
        for status in pod.status.conditions or []:
            if status.status != "True":
                lines.append(f"    {status.type}: {status.reason} {status.message}")
        logs = cluster.kubectl("-n", namespace, "logs", pod.metadata.name, "--all-containers", "--tail=30", check=False)
        lines.append(logs.stdout + logs.stderr)
    return "\n".join(lines)


def wait_until_ready(cluster: Cluster, namespace: str) -> None:
    """Every custom resource Ready at its generation and every pod Ready."""
    kinds = ("Platform", "DomainService", "Generator", "ModelServer")
    resources = [r for kind in kinds for r in cluster.resources(namespace, kind)]
    cluster.wait_all_ready(namespace, resources, timeout=600)
    eventually(lambda: pods_ready(cluster, namespace), timeout=300, interval=2)


@pytest.fixture(scope="module")
def platform(
    cluster: Cluster, images: list[str], only_the_real_node: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    namespace = cluster.create_namespace("platform")  # enforce=restricted, as every StoryBang namespace
    path = tmp_path_factory.mktemp("platform") / "values.yaml"
    path.write_text(yaml.safe_dump(values()))
    started = time.monotonic()
    try:
        # --wait: the datastores and the operator Ready, and the migrations' hook Job succeeded.
        cluster.helm("install", RELEASE, str(CHART), "-n", namespace, "-f", str(path), "--wait", "--timeout", "10m")
        wait_until_ready(cluster, namespace)
        IngressRoutes(cluster, namespace).wait_reachable()
    except BaseException:
        print(describe_pods(cluster, namespace))
        raise
    seconds = time.monotonic() - started
    log.info("helm install to every pod Ready: %.1fs", seconds)
    yield Platform(namespace, seconds)
    cluster.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "3m")
    cluster.delete_namespace(namespace)


class IngressRoutes(httpx.AsyncBaseTransport):
    """Sends each request to the Service the Ingress routes its path to (the longest matching
    prefix, element by element, as ingress controllers match `Prefix` paths), at its cluster IP:
    the path table of an ingress controller, without one."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        [ingress] = cluster.networking.list_namespaced_ingress(namespace).items
        [rule] = ingress.spec.rules
        assert rule.host == HOST
        self.routes: dict[str, str] = {}
        for path in rule.http.paths:
            assert path.path_type == "Prefix", path
            service = cluster.core.read_namespaced_service(path.backend.service.name, namespace)
            [port] = [p.port for p in service.spec.ports if p.name == path.backend.service.port.name]
            self.routes[path.path] = f"{service.spec.cluster_ip}:{port}"
        self._inner = httpx.AsyncHTTPTransport()

    def backend(self, path: str) -> str:
        def matches(prefix: str) -> bool:
            parts = prefix.rstrip("/").split("/")
            return path.split("/")[: len(parts)] == parts

        best = max((p for p in self.routes if matches(p)), key=len, default=None)
        assert best is not None, f"the Ingress routes no prefix of {path}"
        return self.routes[best]

    def wait_reachable(self, timeout: float = 60) -> None:
        """Until every Service routed to takes connections (:func:`kube.wait_connectable`)."""
        for address in sorted(set(self.routes.values())):
            host, port = address.rsplit(":", 1)
            wait_connectable(host, int(port), timeout)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host, port = self.backend(request.url.path).rsplit(":", 1)
        request.url = request.url.copy_with(host=host, port=int(port))
        request.headers["Host"] = HOST
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def test_every_pod_of_the_platform_runs_on_the_real_node_under_restricted(cluster: Cluster, platform: Platform) -> None:
    namespace = cluster.core.read_namespace(platform.namespace)
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = [p for p in cluster.core.list_namespaced_pod(platform.namespace).items if p.status.phase != "Succeeded"]
    assert {p.spec.node_name for p in pods} == {REAL_NODE}
    for pod in pods:
        assert pod.spec.security_context.run_as_non_root, pod.metadata.name
        for container in pod.spec.containers:
            assert container.security_context.read_only_root_filesystem, (pod.metadata.name, container.name)
            assert container.readiness_probe is not None, (pod.metadata.name, container.name)
        assert all(s.ready for s in pod.status.container_statuses), pod.metadata.name
    images = {c.image for p in pods for c in p.spec.containers}
    assert images == {f"localhost/{name}:{TAG}" for name in IMAGES}
    # One pod per workload of the default platform (the web front turned on): their names end in
    # the component each runs.
    names = sorted(p.metadata.name for p in pods)
    for part in (
        "operator", "redis", "mysql", "mongodb", "identity", "characters", "stories", "generation",
        "notifier", "web", "story", "image", "describe", "translate", "smollm2",
    ):  # fmt: skip
        assert any(f"-{part}-" in f"{n}-" for n in names), (part, names)
    log.info("%d pods Ready %.1fs after helm install", len(pods), platform.seconds_to_ready)


@pytest.mark.asyncio
async def test_a_writer_makes_a_story_through_the_cluster(cluster: Cluster, platform: Platform) -> None:
    routes = IngressRoutes(cluster, platform.namespace)
    await make_an_illustrated_story(
        f"http://{HOST}",
        f"http://{routes.backend('/socket.io/')}",
        email="writer@example.com",
        story_backend="smollm2",
        translate_backend="apertium",
        story_seconds=STORY_SECONDS,
        transport=routes,
    )


@pytest.mark.asyncio
async def test_a_worker_killed_mid_story_the_story_completes_once(cluster: Cluster, platform: Platform) -> None:
    routes = IngressRoutes(cluster, platform.namespace)
    async with httpx.AsyncClient(base_url=f"http://{HOST}", transport=routes, timeout=60) as http:
        account = {"email": "killed@example.com", "password": "an end to end passphrase"}
        assert (await http.post("/api/v1/auth/register", json=account | {"display_name": "Kay"})).status_code == 201
        token = (await http.post("/api/v1/auth/login", json=account)).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        body = {"task": "story", "input": {"prompt": "A kite over the hill", "length": "short", "save": True}}
        notifier = f"http://{routes.backend('/socket.io/')}"
        async with JobEvents(reconnection=True).connected(notifier, token) as events:  # as the web client
            job = (await http.post("/api/v1/generations", json=body)).json()
            await events.until(job["id"], ["generation.started"], STORY_SECONDS)
            [worker] = pods_of(cluster, platform.namespace, "-story-")
            cluster.core.delete_namespaced_pod(worker.metadata.name, platform.namespace, grace_period_seconds=0)
            log.info("killed %s with job %s running", worker.metadata.name, job["id"])
            done = await wait_job(http, job["id"], STORY_SECONDS + 2 * HEARTBEAT_SECONDS)
            assert done["status"] == "succeeded", done
            await asyncio.sleep(3)  # a second completion, if there were one, would be on its way
        assert events.names(job["id"]).count("generation.completed") == 1, events.of(job["id"])
        stories = (await http.get("/api/v1/stories")).json()
        assert [s["id"] for s in stories["items"]] == [done["result"]["story_id"]]


def children(cluster: Cluster, namespace: str) -> dict[str, list[str]]:
    """What the operator made, by kind: the names of every object it owns."""
    found: dict[str, list[str]] = {}
    for kind, listing in (
        ("Deployment", cluster.apps.list_namespaced_deployment),
        ("Service", cluster.core.list_namespaced_service),
        ("ConfigMap", cluster.core.list_namespaced_config_map),
        ("PodDisruptionBudget", cluster.policy.list_namespaced_pod_disruption_budget),
        ("NetworkPolicy", cluster.networking.list_namespaced_network_policy),
        ("Ingress", cluster.networking.list_namespaced_ingress),
    ):
        found[kind] = sorted(o.metadata.name for o in listing(namespace).items)
    return found


def test_the_operator_pod_deleted_its_successor_converges_with_no_duplicates(
    cluster: Cluster, platform: Platform
) -> None:
    before = children(cluster, platform.namespace)
    [operator] = pods_of(cluster, platform.namespace, "-operator-")
    cluster.core.delete_namespaced_pod(operator.metadata.name, platform.namespace)

    def successor_ready() -> bool:
        pods = [
            p for p in cluster.core.list_namespaced_pod(platform.namespace).items if "-operator-" in p.metadata.name
        ]
        return [p.metadata.name for p in pods] != [operator.metadata.name] and pods_ready(cluster, platform.namespace)

    eventually(successor_ready, timeout=180, interval=2)
    # A full pass of the new operator over every resource: each observed its current generation.
    kinds = ("Platform", "DomainService", "Generator", "ModelServer")
    resources = [r for kind in kinds for r in cluster.resources(platform.namespace, kind)]
    cluster.wait_all_ready(platform.namespace, resources, timeout=180)
    time.sleep(10)
    assert children(cluster, platform.namespace) == before
    for deployment in cluster.apps.list_namespaced_deployment(platform.namespace).items:
        replicas = deployment.spec.replicas
        assert deployment.status.ready_replicas == replicas, json.dumps(deployment.status.to_dict(), default=str)
