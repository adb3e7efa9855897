"""A ModelServer with minReplicas 0 on a real API server, its Generator's queue in a real Redis
(a private redis-server): asleep without jobs, woken by a job that a worker holds while it waits
for the server, asleep again once the queue stayed empty for scaleToZeroAfterSeconds; and woken
as soon as a job is queued, by the announcement of the enqueue, not at the next resync."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import kubernetes
import redis
from kopf.testing import KopfRunner

from storybang_testing.kube import eventually
from storybang_testing.redis import redis_server
from tests.cluster import resources
from tests.cluster.conftest import OPERATOR_ENV


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


def test_a_model_server_at_zero_wakes_as_soon_as_a_job_is_queued_for_it(
    api: kubernetes.client.ApiClient, namespace: str
) -> None:
    """The operator's periodic pass is ten minutes away here: only the announcement that the
    broker publishes with each enqueue (`<namespace>:wake`, the queue's name) can wake it."""
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    env = OPERATOR_ENV | {"STORYBANG_OPERATOR_RESYNC_SECONDS": "600"}
    args = ["run", "--standalone", "--namespace", namespace, "-m", "storybang_operator"]
    with redis_server() as server, KopfRunner(args, timeout=120, env=env) as runner:
        url = base64.b64encode(f"{server.url}/0".encode()).decode()
        core.patch_namespaced_secret("storybang-redis", namespace, {"data": {"url": url}})
        resources.apply(api, namespace, resources.example("platform.yaml"))
        resources.apply(api, namespace, resources.example("generator-scale-to-zero.yaml"))
        ms = resources.example("modelserver-cpu-transformers.yaml")
        ms["spec"]["autoscaling"] = {"minReplicas": 0, "maxReplicas": 2, "scaleToZeroAfterSeconds": 3}
        resources.apply(api, namespace, ms)

        def replicas() -> int | None:
            count: int | None = apps.read_namespaced_deployment("smollm2", namespace).spec.replicas
            return count

        eventually(lambda: _autoscaling(api, namespace).get("reason") == "Queue" and replicas() == 0, 60)
        time.sleep(2)  # the operator subscribes within a second of the pass that left it at zero
        client = redis.Redis.from_url(f"{server.url}/0")
        # What StoryBang's broker does to queue a translation: the message, its id on the list,
        # and the queue's name announced on the namespace's wake-up channel.
        message = {"queue_name": "translate", "message_id": "job-1", "message_timestamp": int(time.time() * 1000)}
        client.hset("dramatiq:translate.msgs", "job-1", json.dumps(message))
        client.rpush("dramatiq:translate", "job-1")
        queued = time.monotonic()
        client.publish("dramatiq:wake", "translate")
        eventually(lambda: replicas() == 1, 30)
        woken = time.monotonic() - queued
    assert runner.exception is None, runner.output
    print(f"woken {woken:.2f} s after the job was queued (the next resync was up to 600 s away)")
