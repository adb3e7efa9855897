"""Service-level figures in the status of custom resources, from real sources: a Generator shows
the depth and oldest age of its queue in a real Redis holding Dramatiq messages, and the p95 of its
jobs' duration from a real Prometheus; a ModelServer shows its waiting requests and tokens/s from
the same Prometheus; `kubectl get` prints them; a resync whose figures barely moved writes nothing.

What Prometheus scrapes stands in for the workers' and the model server's pods (kwok runs no
process): prometheus_client registries with the metric names, labels and buckets that
`storybang worker` and `storybang inference` export, under the target labels the chart's
PodMonitor gives their pods.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
import redis

from conftest import Release, StartOperator, fresh_namespace
from kube import Cluster, eventually, example
from storybang_testing import prometheus
from storybang_testing.waiting import free_port

SLO_DB = 5  # this test's Redis database: its queue is no other test's
JOB_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)  # the workers' (generation/metrics.py)


@pytest.fixture
def slo_namespace(cluster: Cluster, redis_url: str, release: Release) -> Iterator[str]:
    with fresh_namespace(cluster, redis_url, "e2e-slo", db=SLO_DB) as name:
        yield name


def _enqueue(client: redis.Redis, message_id: str, age_seconds: float) -> None:
    """What Dramatiq's dispatch.lua does for a story job: the message in a hash, its id pushed."""
    stamp = int((time.time() - age_seconds) * 1000)
    message = {"queue_name": "story", "message_id": message_id, "message_timestamp": stamp}
    client.hset("dramatiq:story.msgs", message_id, json.dumps(message))
    client.rpush("dramatiq:story", message_id)


def _status(cluster: Cluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return dict(cluster.get(namespace, kind, name).get("status") or {})


def _conditions(st: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: f"{c['status']}/{c['reason']}" for c in st.get("conditions", [])}


def test_generator_and_model_server_status_show_their_load(
    cluster: Cluster, redis_url: str, slo_namespace: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    namespace = slo_namespace
    queue = redis.Redis.from_url(f"{redis_url}/{SLO_DB}")
    queue.flushdb()
    for n, age in enumerate((150, 40, 5)):
        _enqueue(queue, f"m{n}", age)

    worker, model = prometheus_client.CollectorRegistry(), prometheus_client.CollectorRegistry()
    durations = prometheus_client.Histogram(
        "storybang_generation_job_duration_seconds",
        "From a worker taking a job to its end, by task and outcome.",
        ["task", "outcome"],
        buckets=JOB_BUCKETS,
        registry=worker,
    )
    waiting = prometheus_client.Gauge(
        "storybang_inference_requests_waiting", "Generations queued behind the running ones.", registry=model
    )
    tokens = prometheus_client.Counter(
        "storybang_inference_generated_tokens_total", "Tokens generated, by route.", ["route"], registry=model
    )
    downloaded = prometheus_client.Gauge(
        "storybang_inference_model_download_bytes",
        "Bytes of a model's files in the Hugging Face cache while it loads, by model.",
        ["model"],
        registry=model,
    )
    ports = {"worker": free_port(), "model": free_port()}
    servers = [
        prometheus_client.start_http_server(ports[n], "127.0.0.1", r) for n, r in (("worker", worker), ("model", model))
    ]
    pods = {
        "worker": {"pod": "story-5c8b9d-abcde", "component": "worker"},
        "model": {"pod": "smollm2-84c2f6-pqrst", "component": "model-server"},
    }
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {
                "job_name": f"podMonitor/{namespace}/storybang-platform",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{ports[name]}"],
                        "labels": {"namespace": namespace, "platform": "storybang", **labels},
                    }
                    for name, labels in pods.items()
                ],
            }
        ],
    }
    try:
        with prometheus.prometheus(tmp_path / "prometheus", config) as prom:
            eventually(lambda: len(prom.query("up == 1")) == 2, timeout=30)
            waiting.set(2)
            for outcome in ("succeeded", "failed"):  # the series exist before the jobs end: a rate needs both
                durations.labels("story", outcome)
            tokens.labels("chat")
            time.sleep(2)
            for _ in range(9):
                durations.labels("story", "succeeded").observe(4)
            durations.labels("story", "failed").observe(45)
            tokens.labels("chat").inc(3000)

            platform = example("platform.yaml")
            platform["spec"].setdefault("monitoring", {})["prometheusAddress"] = prom.base
            generator = example("generator-story-xai.yaml")
            generator["spec"]["backends"] = [b for b in generator["spec"]["backends"] if "external" in b]
            start_operator(namespace)
            cluster.apply(namespace, [platform, generator, example("modelserver-cpu-transformers.yaml")])

            def generator_figures() -> dict[str, Any]:
                st = _status(cluster, namespace, "Generator", "story")
                return st if st.get("p95JobDurationSeconds") is not None else {}

            st = eventually(generator_figures, timeout=90)
            assert st["queueDepth"] == 3
            assert 150 <= st["oldestJobAgeSeconds"] <= 200
            # One job in ten took 45 s: the 95th percentile lies in its bucket (30..60 s).
            assert 30 < st["p95JobDurationSeconds"] <= 60
            assert _conditions(st)["QueueObserved"] == "True/Read"
            assert _conditions(st)["MetricsObserved"] == "True/Read"

            def model_figures() -> dict[str, Any]:
                found = _status(cluster, namespace, "ModelServer", "smollm2")
                return found if found.get("tokensPerSecond") else {}

            ms = eventually(model_figures, timeout=90)
            assert ms["requestsWaiting"] == 2
            assert ms["tokensPerSecond"] > 0
            assert _conditions(ms)["MetricsObserved"] == "True/Read"

            def table_shows_the_status() -> dict[str, str] | None:
                # Read together: a resync may rewrite the age between two reads far apart.
                shown = _status(cluster, namespace, "Generator", "story")
                table = cluster.kubectl("get", "generators", "-n", namespace).stdout
                cells = _cells(*table.splitlines()[:2])
                figures = [str(shown[f]) for f in ("queueDepth", "oldestJobAgeSeconds", "p95JobDurationSeconds")]
                return cells if [cells["QUEUE"], cells["OLDEST"], cells["P95"]] == figures else None

            cells = eventually(table_shows_the_status, timeout=30)
            assert list(cells)[:8] == ["NAME", "TASK", "READY", "REASON", "WORKERS", "QUEUE", "OLDEST", "P95"]
            assert cells["QUEUE"] == "3"
            table = cluster.kubectl("get", "modelservers", "-n", namespace).stdout
            assert "WAITING" in table.splitlines()[0] and "TOKENS/S" in table.splitlines()[0]
            assert "downloadedBytes" not in ms  # no download under way: no figure

            # A pod downloading its model (a first start of a hub model) shows how far it has got.
            downloaded.labels("HuggingFaceTB/SmolLM2-135M-Instruct").set(271_000_000)
            eventually(
                lambda: _status(cluster, namespace, "ModelServer", "smollm2").get("downloadedBytes") == 271_000_000,
                timeout=30,
            )
            wide = cluster.kubectl("get", "modelservers", "-n", namespace, "-o", "wide").stdout
            cells = _cells(*wide.splitlines()[:2])
            assert cells["DOWNLOADED"] == "271000000"
            downloaded.remove("HuggingFaceTB/SmolLM2-135M-Instruct")  # loaded: the figure goes
            eventually(
                lambda: "downloadedBytes" not in _status(cluster, namespace, "ModelServer", "smollm2"), timeout=30
            )

            # Once the workers are up, resyncs every 2 s while the oldest job ages by seconds find
            # nothing worth a write.
            cluster.wait_ready(namespace, "Generator", "story")
            time.sleep(3)
            before = cluster.get(namespace, "Generator", "story")
            time.sleep(8)
            after = cluster.get(namespace, "Generator", "story")
            assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], (
                before["status"],
                after["status"],
            )

            # The queue drains: both figures go to zero at once, however small the move.
            queue.flushdb()
            eventually(
                lambda: _status(cluster, namespace, "Generator", "story").get("oldestJobAgeSeconds") == 0, timeout=30
            )
            assert _status(cluster, namespace, "Generator", "story")["queueDepth"] == 0
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join()


def test_a_generator_whose_sources_are_down_says_so_without_zeros(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    platform = example("platform.yaml")
    platform["spec"].setdefault("monitoring", {})["prometheusAddress"] = f"http://127.0.0.1:{free_port()}"
    generator = example("generator-story-xai.yaml")
    generator["spec"]["backends"] = [b for b in generator["spec"]["backends"] if "external" in b]
    down = f"127.0.0.1:{free_port()}"
    cluster.create_secret(
        namespace, "storybang-redis-down", {"url": f"redis://{down}/0", "address": down, "password": ""}
    )
    platform["spec"]["datastores"]["redis"]["secretName"] = "storybang-redis-down"
    start_operator(namespace)
    cluster.apply(namespace, [platform, generator])

    def observed() -> dict[str, str]:
        conditions = _conditions(_status(cluster, namespace, "Generator", "story"))
        return conditions if "MetricsObserved" in conditions else {}

    conditions = eventually(observed, timeout=90)
    assert conditions["QueueObserved"] == "False/RedisUnavailable"
    assert conditions["MetricsObserved"] == "False/PrometheusUnavailable"
    st = _status(cluster, namespace, "Generator", "story")
    assert not {"queueDepth", "oldestJobAgeSeconds", "p95JobDurationSeconds"} & set(st)


def _cells(header: str, row: str) -> dict[str, str]:
    """A `kubectl get` row by column name, cut where each header starts (a cell may be empty)."""
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    ends = [*starts[1:], None]
    return {header[a:b].strip(): row[a:b].strip() for a, b in zip(starts, ends, strict=True)}
