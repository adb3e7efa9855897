"""`helm upgrade` of a running platform keeps a writer's data and sessions: the previous release
(kube.PREVIOUS: its chart, and its storybang and storybang-operator images, which
`scripts/images.sh previous` builds from its own source) installed on the real node with its
datastores on volumes, a writer signed up with a character and a story, then `helm upgrade` to this
chart and this release's images, the CRDs first as the chart README says. Afterwards every pod has
been replaced (the datastores' too, from their volumes), and the writer's access token, refresh
token, password, character and story are all still good.

The release runs the domains the writer's data lives in (identity, characters, stories) and the
three datastores, from the Debian-made stand-in images (no registry is reachable here); workers,
model server, notifier and web front stay off: test_platform.py runs those. Carries the marker
`real_node`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import kube
from cluster import VolumeProvisioner
from kube import CHART, REPO, Cluster
from storybang_testing.kube import eventually
from test_platform import (
    HOST,
    IMAGES,
    TAG,
    IngressRoutes,
    describe_pods,
    import_images,
    local,
    pods_ready,
    real_node_only,
    wait_until_ready,
)

pytestmark = pytest.mark.real_node
log = logging.getLogger("e2e")

RELEASE = "kept"
PREVIOUS_TAG = "previous"  # scripts/images.sh previous
DATASTORES = ("redis", "mysql", "mongodb")


def release_values(tag: str) -> dict[str, Any]:
    """Values both charts accept: the images of `tag`, the datastores on volumes, an access token
    that outlives the upgrade (so that the same token is tried on both sides of it)."""
    small = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}
    never = {"pullPolicy": "Never"}
    datastore = {"persistence": {"enabled": True, "size": "1Gi"}, "resources": small}
    return {
        "operator": {"image": local("storybang-operator", tag=tag, **never), "scope": "namespace"},
        "platform": {
            "image": local("storybang", tag=tag, **never),
            "auth": {"requireVerification": False, "accessTokenTTLSeconds": 3600},
        },
        "ingress": {"host": HOST},
        "domainServices": {
            **{name: {"resources": small} for name in ("identity", "characters", "stories")},
            **{name: {"enabled": False} for name in ("generation", "notifier", "web")},
        },
        "generators": {name: {"enabled": False} for name in ("story", "image", "describe", "translate")},
        "modelServer": {"enabled": False},
        # The datastores' images are this release's stand-ins on both sides (as the official images'
        # tags would be pinned): what changes under them is the chart's StatefulSets.
        "redis": {"image": local("storybang-redis", **never), **datastore},
        "mysql": {"image": local("storybang-mariadb", **never), **datastore},
        "mongodb": {"image": local("storybang-ferretdb", **never), **datastore},
    }


@pytest.fixture(scope="module")
def previous_images(cluster: Cluster) -> None:
    """The previous release's images next to this release's in the node's containerd."""
    import_images(cluster)
    refs = [f"localhost/{name}:{PREVIOUS_TAG}" for name in ("storybang", "storybang-operator")]
    missing = [ref for ref in refs if subprocess.run(["podman", "image", "exists", ref]).returncode != 0]
    if missing:
        pytest.fail(f"no image {', '.join(missing)}: build them with scripts/images.sh previous")
    subprocess.run(
        [str(REPO / "scripts" / "cluster.sh"), "load", *refs],
        env={**os.environ, "CLUSTER_STATE": str(cluster.kubeconfig.parent)},
        check=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def namespace(cluster: Cluster, volumes: VolumeProvisioner, previous_images: None) -> Iterator[str]:
    with real_node_only(cluster), kube.release_namespace(cluster, "upgrade-data", (RELEASE, "storybang-crds")) as name:
        yield name


def install(cluster: Cluster, namespace: str, command: list[str], chart: Path, values: Path) -> float:
    started = time.monotonic()
    try:
        cluster.helm(*command, RELEASE, str(chart), "-n", namespace, "-f", str(values), "--wait", "--timeout", "10m")
        wait_until_ready(cluster, namespace)
        IngressRoutes(cluster, namespace).wait_reachable()
    except BaseException:
        print(describe_pods(cluster, namespace))
        raise
    return time.monotonic() - started


def live_pods(cluster: Cluster, namespace: str) -> list[Any]:
    return [p for p in cluster.core.list_namespaced_pod(namespace).items if p.status.phase != "Succeeded"]


def pod_uids(cluster: Cluster, namespace: str) -> dict[str, str]:
    return {p.metadata.name: p.metadata.uid for p in live_pods(cluster, namespace)}


async def write_a_writers_data(routes: IngressRoutes) -> dict[str, Any]:
    """Sign up, log in, make a character and a story: what must outlive the upgrade."""
    account = {"email": "kept@example.com", "password": "a passphrase kept across upgrades"}
    async with httpx.AsyncClient(base_url=f"http://{HOST}", transport=routes, timeout=60) as http:
        response = await http.post("/api/v1/auth/register", json=account | {"display_name": "Kit"})
        assert response.status_code == 201, response.text
        tokens = (await http.post("/api/v1/auth/login", json=account)).json()
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        character = {"name": "Moss", "description": "A patient tortoise who keeps the lighthouse."}
        response = await http.post("/api/v1/characters", json=character)
        assert response.status_code == 201, response.text
        character_id = response.json()["id"]
        story = {
            "title": "The Lighthouse Keeper",
            "audience": "children",
            "character_ids": [character_id],
            "paragraphs": [{"text": "Moss climbed the ninety steps every evening."}],
        }
        response = await http.post("/api/v1/stories", json=story)
        assert response.status_code == 201, response.text
        return {
            "account": account,
            "tokens": tokens,
            "character": (await http.get(f"/api/v1/characters/{character_id}")).json(),
            "story": (await http.get(f"/api/v1/stories/{response.json()['id']}")).json(),
        }


def same(a: dict[str, Any], b: dict[str, Any], *keys: str) -> bool:
    return {k: a[k] for k in keys} == {k: b[k] for k in keys}


async def read_it_back(routes: IngressRoutes, written: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=f"http://{HOST}", transport=routes, timeout=60) as http:
        # The access token signed before the upgrade: the signing key was kept.
        old = {"Authorization": f"Bearer {written['tokens']['access_token']}"}
        me = await http.get("/api/v1/users/me", headers=old)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == written["account"]["email"]
        # The session: its refresh token turns into a new pair.
        response = await http.post("/api/v1/auth/refresh", json={"refresh_token": written["tokens"]["refresh_token"]})
        assert response.status_code == 200, response.text
        http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        # Compared on what the writer wrote (a newer release may add fields to the responses).
        character, story = written["character"], written["story"]
        kept = (await http.get(f"/api/v1/characters/{character['id']}")).json()
        assert same(kept, character, "id", "name", "description")
        kept = (await http.get(f"/api/v1/stories/{story['id']}")).json()
        assert same(kept, story, "id", "title", "audience", "character_ids")
        assert [p["text"] for p in kept["paragraphs"]] == [p["text"] for p in story["paragraphs"]]
        assert [c["id"] for c in (await http.get("/api/v1/characters")).json()["items"]] == [character["id"]]
        # The password hash.
        login = await http.post("/api/v1/auth/login", json=written["account"])
        assert login.status_code == 200, login.text


def test_helm_upgrade_of_a_running_platform_keeps_the_writers_data_and_sessions(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    previous_chart = kube.previous_chart(tmp_path)
    kube.previous_crds_as_helm_left_them(cluster, previous_chart)
    values = {}
    for tag in (PREVIOUS_TAG, TAG):
        values[tag] = tmp_path / f"values-{tag}.yaml"
        values[tag].write_text(yaml.safe_dump(release_values(tag)))

    seconds = install(cluster, namespace, ["install"], previous_chart, values[PREVIOUS_TAG])
    log.info("the previous release (%s) Ready in %.1fs", kube.PREVIOUS, seconds)
    written = asyncio.run(write_a_writers_data(IngressRoutes(cluster, namespace)))
    before = pod_uids(cluster, namespace)

    cluster.helm(
        "upgrade", "--install", "storybang-crds", str(kube.CRDS_CHART), "-n", namespace, "--take-ownership", "--wait"
    )
    seconds = install(cluster, namespace, ["upgrade"], CHART, values[TAG])
    log.info("upgraded to this release in %.1fs", seconds)
    # The rollouts end with every pod on this release's images.
    current = {f"localhost/{name}:{TAG}" for name in IMAGES}

    def rolled_out() -> bool:
        pods = [p for p in live_pods(cluster, namespace) if not p.metadata.deletion_timestamp]
        images = {c.image for p in pods for c in p.spec.containers}
        return images <= current and pods_ready(cluster, namespace)

    eventually(rolled_out, timeout=300, interval=2)
    # The datastores start again from their volumes, whether or not the upgrade changed them.
    for name in DATASTORES:
        cluster.core.delete_namespaced_pod(f"{RELEASE}-storybang-{name}-0", namespace)

    def all_replaced() -> bool:
        return set(pod_uids(cluster, namespace).values()).isdisjoint(before.values()) and pods_ready(cluster, namespace)

    eventually(all_replaced, timeout=300, interval=2)
    asyncio.run(read_it_back(IngressRoutes(cluster, namespace), written))
