"""A ModelServer with minReplicas 0 on a real API server, its Generator's queue in a real Redis
(a private redis-server): asleep without jobs, woken by a job that a worker holds while it waits
for the server, asleep again once the queue stayed empty for scaleToZeroAfterSeconds."""

from __future__ import annotations

import base64
from typing import Any

import kubernetes
import redis

from storybang_testing.kube import eventually
from storybang_testing.redis import redis_server
from tests.cluster import resources


def _autoscaling(api: kubernetes.client.ApiClient, namespace: str) -> dict[str, Any]:
    found = resources.status(api, namespace, "modelservers", "smollm2").get("conditions", [])
    return next((c for c in found if c["type"] == "Autoscaling"), {})


def test_a_model_server_at_zero_wakes_for_a_job_its_generator_holds_and_sleeps_again(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    with redis_server() as server:
        url = base64.b64encode(f"{server.url}/0".encode()).decode()
        core.patch_namespaced_secret("storybang-redis", namespace, {"data": {"url": url}})
        resources.apply(api, namespace, resources.example("platform.yaml"))
        ms = resources.example("modelserver-cpu-transformers.yaml")
        ms["spec"]["autoscaling"] = {"minReplicas": 0, "maxReplicas": 2, "scaleToZeroAfterSeconds": 3}
        resources.apply(api, namespace, ms)

        def replicas() -> int | None:
            deployment = apps.read_namespaced_deployment("smollm2", namespace)
            count: int | None = deployment.spec.replicas
            return count

        # No Generator points at it yet: nothing could wake it, so it keeps a replica and says why.
        refused = eventually(lambda: _autoscaling(api, namespace).get("reason") == "ScaleToZeroNeedsQueue", 60)
        assert refused and replicas() == 1

        resources.apply(api, namespace, resources.example("generator-scale-to-zero.yaml"))
        eventually(lambda: _autoscaling(api, namespace).get("reason") == "Queue" and replicas() == 0, 60)
        assert "dramatiq:translate" in _autoscaling(api, namespace)["message"]

        # What Dramatiq does when a worker takes the job: its id in the worker's acks set, off the list.
        client = redis.Redis.from_url(f"{server.url}/0")
        client.sadd("dramatiq:__acks__.worker-1.translate", "job-1")
        eventually(lambda: replicas() == 1, 60)
        # The same pass patches the status after it has applied the Deployment.
        eventually(lambda: resources.status(api, namespace, "modelservers", "smollm2").get("idleSince") is None, 10)
        assert replicas() == 1

        client.delete("dramatiq:__acks__.worker-1.translate")
        eventually(lambda: resources.status(api, namespace, "modelservers", "smollm2").get("idleSince"), 60)
        eventually(lambda: replicas() == 0, 60)
