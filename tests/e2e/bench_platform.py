"""`make bench` (BENCH=platform): the chart's platform on the real node, as test_platform.py installs
it, and a writer's journey through it against the same journey on `storybang dev`. Prints figures
and ratios; asserts no timing.

  - the images' sizes and their import into the node's containerd;
  - `helm install` to every pod Ready: cold (the first install on a fresh node: containerd unpacks
    each image's layers as its first container starts) and warm (installed again once uninstalled);
  - the journey of storybang_testing.journey (sign up, character, a short story streamed over
    Socket.IO, its translation) through the cluster's Services, and on `storybang dev` (one
    process, embedded stores, the bundled model on llama.cpp in-process) on this machine.

    .venv/bin/python tests/e2e/bench_platform.py        starts a cluster with the real node, and stops it

Needs what the end-to-end stage needs: root, `CLUSTER_NODE=real scripts/cluster.sh build`,
`scripts/images.sh cluster`, and .venv-inference for `storybang dev`'s model.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from kube import CHART, REPO, Cluster
from storybang_testing import processes
from storybang_testing.journey import make_an_illustrated_story
from storybang_testing.waiting import free_port
from test_platform import (
    HOST,
    IMAGES,
    RELEASE,
    STORY_SECONDS,
    TAG,
    IngressRoutes,
    import_images,
    real_node_only,
    values,
    wait_until_ready,
)

CLUSTER = REPO / "scripts" / "cluster.sh"


def image_sizes() -> dict[str, int]:
    out = subprocess.run(
        ["podman", "image", "inspect", *(f"localhost/{name}:{TAG}" for name in IMAGES)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {name: image["Size"] for name, image in zip(IMAGES, json.loads(out), strict=True)}


def install_until_ready(cluster: Cluster, namespace: str, values_file: Path) -> float:
    started = time.monotonic()
    cluster.helm("install", RELEASE, str(CHART), "-n", namespace, "-f", str(values_file), "--wait", "--timeout", "10m")
    wait_until_ready(cluster, namespace)
    IngressRoutes(cluster, namespace).wait_reachable()
    return time.monotonic() - started


def journey_through_the_cluster(cluster: Cluster, namespace: str) -> float:
    routes = IngressRoutes(cluster, namespace)
    started = time.monotonic()
    asyncio.run(
        make_an_illustrated_story(
            f"http://{HOST}",
            f"http://{routes.backend('/socket.io/')}",
            email="bench@example.com",
            story_backend="smollm2",
            translate_backend="apertium",
            story_seconds=STORY_SECONDS,
            transport=routes,
        )
    )
    return time.monotonic() - started


def journey_on_dev(tmp: Path) -> float:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [str(REPO / ".venv-inference" / "bin" / "storybang"), "dev", "--port", str(port)]
    args += ["--data-dir", str(tmp / "dev")]
    env = {**os.environ, "STORYBANG_GENERATION__LOCAL_ENGINE": "llama.cpp"}
    with processes.serving(args, tmp / "dev.log", lambda: processes.answers(f"{base}/readyz"), env=env, timeout=180):
        started = time.monotonic()
        asyncio.run(
            make_an_illustrated_story(
                base,
                base,
                email="bench@example.com",
                story_backend="local",
                translate_backend="apertium",
                story_seconds=STORY_SECONDS,
            )
        )
        return time.monotonic() - started


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="storybang-bench-platform-"))
    env = {**os.environ, "CLUSTER_NODE": "real", "CLUSTER_STATE": str(state / "cluster")}
    subprocess.run([str(CLUSTER), "build"], env=env, check=True)
    subprocess.run([str(CLUSTER), "up"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        cluster = Cluster(state / "cluster" / "kubeconfig")
        (state / "values.yaml").write_text(yaml.safe_dump(values()))
        print("\nplatform on the real node (tests/e2e/bench_platform.py)")
        for name, size in image_sizes().items():
            print(f"  image {name:<22} {size / 1e6:7.0f} MB")
        started = time.monotonic()
        import_images(cluster)
        print(f"  import of the {len(IMAGES)} images into containerd: {time.monotonic() - started:.1f} s")
        with real_node_only(cluster):
            seconds = {}
            for run in ("cold", "warm"):
                namespace = cluster.create_namespace(f"bench-{run}")
                seconds[run] = install_until_ready(cluster, namespace, state / "values.yaml")
                print(f"  helm install to every pod Ready, {run}: {seconds[run]:.1f} s")
                if run == "warm":
                    through = journey_through_the_cluster(cluster, namespace)
                cluster.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "3m")
                cluster.delete_namespace(namespace)
        on_dev = journey_on_dev(state)
        print(f"  a writer's journey through the cluster: {through:.1f} s")
        print(f"  the same journey on storybang dev:      {on_dev:.1f} s (cluster / dev: {through / on_dev:.2f})")
    finally:
        subprocess.run([str(CLUSTER), "down"], env=env, check=False)


if __name__ == "__main__":
    main()
