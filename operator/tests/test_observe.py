"""A Generator's and a ModelServer's load, read from a real Redis holding Dramatiq messages and a
real Prometheus (Debian's, storybang_testing.prometheus) scraping metrics endpoints.

The endpoints are prometheus_client registries with the names, labels and buckets the workers and
`storybang inference` export (the services' package is not the operator's to import), scraped with
the target labels the chart's PodMonitor gives their pods.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import prometheus_client
import pytest
import redis

from storybang_operator import observe, prometheus, queue, specs
from storybang_testing.prometheus import Prometheus
from storybang_testing.prometheus import prometheus as running_prometheus
from storybang_testing.redis import redis_server
from storybang_testing.waiting import eventually, free_port
from tests.conftest import NAMESPACE

KEY = "dramatiq:story"
# The workers' buckets of storybang_generation_job_duration_seconds (generation/metrics.py).
JOB_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)


class Endpoints:
    """A worker's and a model server's metrics, served on free ports."""

    def __init__(self) -> None:
        self.worker, self.model = prometheus_client.CollectorRegistry(), prometheus_client.CollectorRegistry()
        self.durations = prometheus_client.Histogram(
            "storybang_generation_job_duration_seconds",
            "From a worker taking a job to its end, by task and outcome.",
            ["task", "outcome"],
            buckets=JOB_BUCKETS,
            registry=self.worker,
        )
        self.waiting = prometheus_client.Gauge(
            "storybang_inference_requests_waiting", "Generations queued behind the running ones.", registry=self.model
        )
        self.tokens = prometheus_client.Counter(
            "storybang_inference_generated_tokens_total", "Tokens generated, by route.", ["route"], registry=self.model
        )
        self.downloaded = prometheus_client.Gauge(
            "storybang_inference_model_download_bytes",
            "Bytes of a model's files in the Hugging Face cache while it loads, by model.",
            ["model"],
            registry=self.model,
        )
        self.ports = {"worker": free_port(), "model": free_port()}
        self._servers = [
            prometheus_client.start_http_server(self.ports[name], "127.0.0.1", registry)
            for name, registry in (("worker", self.worker), ("model", self.model))
        ]

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join()


def scrape_config(endpoints: Endpoints, platform: str) -> dict[str, Any]:
    pods = {
        "worker": {"pod": "story-5c8b9d-abcde", "component": "worker", "platform": platform},
        "model": {"pod": "smollm2-84c2f6-pqrst", "component": "model-server", "platform": platform},
    }
    targets = [
        {"targets": [f"127.0.0.1:{endpoints.ports[name]}"], "labels": {"namespace": NAMESPACE, **labels}}
        for name, labels in pods.items()
    ]
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "podMonitor/storybang/platform", "static_configs": targets}],
    }


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield f"{server.url}/0"


@pytest.fixture(scope="module")
def endpoints() -> Iterator[Endpoints]:
    found = Endpoints()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def prom(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), scrape_config(endpoints, "storybang")) as found:
        eventually(lambda: len(found.query("up == 1")) == 2, timeout=30)
        yield found


def enqueue(client: redis.Redis, queue_name: str, message_id: str, age_seconds: float) -> None:
    """What Dramatiq's dispatch.lua does: the message in a hash, its id pushed on the right."""
    timestamp = int((time.time() - age_seconds) * 1000)
    message = {"queue_name": queue_name, "message_id": message_id, "message_timestamp": timestamp}
    client.hset(f"dramatiq:{queue_name}.msgs", message_id, json.dumps(message))
    client.rpush(f"dramatiq:{queue_name}", message_id)


def generator_load(
    example: Callable[..., dict[str, Any]], address: str | None, redis_url: str, **kw: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    body = example("Platform", "storybang")
    if address is not None:
        body["spec"]["monitoring"]["prometheusAddress"] = address
    plat = specs.parse(body, specs.Platform)
    gen = specs.parse(example("Generator", "story"), specs.Generator)
    fields, conditions = observe.generator_load(
        queue.QueueReader(timeout=1),
        prometheus.PrometheusReader(timeout=2),
        gen,
        plat,
        redis_url=lambda: redis_url,
        key=KEY,
        shown=kw.get("shown"),
        generation=1,
        previous=[],
    )
    return fields, {c["type"]: c for c in conditions}


def test_backlog_counts_retries_and_ages_the_oldest_message(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    enqueue(client, "story", "a", 90)
    enqueue(client, "story", "b", 10)
    enqueue(client, "story.DQ", "c", 300)  # a retry waits in the delay queue
    enqueue(client, "image", "d", 1000)  # another task's queue
    found = queue.QueueReader(timeout=1).backlog(redis_url, KEY)
    assert found.depth == 3
    assert 299 <= found.oldest_age_seconds <= 310
    assert queue.QueueReader(timeout=1).backlog(redis_url, "dramatiq:translate") == queue.Backlog(0, 0.0)


def test_generator_status_shows_queue_oldest_age_and_job_durations(
    redis_url: str, endpoints: Endpoints, prom: Prometheus, example: Callable[..., dict[str, Any]]
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    for n, age in enumerate((120, 60, 5)):
        enqueue(client, "story", f"m{n}", age)

    def read() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        # Jobs end while Prometheus watches (a rate needs two scrapes): eighteen of 3.5 s and two
        # failed after 250 s count; a cancelled job and another task's do not.
        for _ in range(18):
            endpoints.durations.labels("story", "succeeded").observe(3.5)
        for _ in range(2):
            endpoints.durations.labels("story", "failed").observe(250)
        for _ in range(5):
            endpoints.durations.labels("story", "cancelled").observe(1000)
            endpoints.durations.labels("image", "succeeded").observe(1000)
        fields, conditions = generator_load(example, prom.base, redis_url)
        assert fields["p95JobDurationSeconds"] is not None
        return fields, conditions

    fields, conditions = eventually(read, timeout=30, not_yet=lambda e: isinstance(e, AssertionError))
    assert fields["queueDepth"] == 3
    assert 120 <= fields["oldestJobAgeSeconds"] <= 130
    # Two jobs in twenty took 250 s: the 95th percentile lies in their bucket (120..300 s); the
    # cancelled jobs and the other task's, counted, would have put it past 600 s.
    assert 120 < fields["p95JobDurationSeconds"] <= 300
    assert conditions["QueueObserved"]["status"] == "True"
    assert (conditions["MetricsObserved"]["status"], conditions["MetricsObserved"]["reason"]) == ("True", "Read")


def test_sources_that_cannot_be_read_leave_their_figures_out(
    redis_url: str, example: Callable[..., dict[str, Any]]
) -> None:
    shown = {"queueDepth": 4, "oldestJobAgeSeconds": 30, "p95JobDurationSeconds": 2.5}
    down = f"redis://127.0.0.1:{free_port()}/0"
    fields, conditions = generator_load(example, f"http://127.0.0.1:{free_port()}", down, shown=shown)
    assert fields == {"queueDepth": None, "oldestJobAgeSeconds": None, "p95JobDurationSeconds": None}
    assert (conditions["QueueObserved"]["status"], conditions["QueueObserved"]["reason"]) == (
        "False",
        "RedisUnavailable",
    )
    assert (conditions["MetricsObserved"]["status"], conditions["MetricsObserved"]["reason"]) == (
        "False",
        "PrometheusUnavailable",
    )


def test_without_a_prometheus_the_status_says_so(redis_url: str, example: Callable[..., dict[str, Any]]) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    fields, conditions = generator_load(example, None, redis_url)
    assert fields == {"queueDepth": 0, "oldestJobAgeSeconds": 0, "p95JobDurationSeconds": None}
    assert (conditions["MetricsObserved"]["status"], conditions["MetricsObserved"]["reason"]) == (
        "False",
        "PrometheusNotConfigured",
    )


def test_model_server_status_shows_requests_waiting_and_tokens_per_second(
    endpoints: Endpoints, prom: Prometheus, example: Callable[..., dict[str, Any]]
) -> None:
    ms = specs.parse(example("ModelServer", "smollm2"), specs.ModelServer)
    body = example("Platform", "storybang")
    body["spec"]["monitoring"]["prometheusAddress"] = prom.base
    plat = specs.parse(body, specs.Platform)
    endpoints.waiting.set(4)

    def read(downloaded: int | None) -> dict[str, Any]:
        endpoints.tokens.labels("chat").inc(500)
        fields, [condition] = observe.model_server_load(
            prometheus.PrometheusReader(timeout=2), ms, plat, shown=None, generation=1, previous=[]
        )
        assert condition["status"] == "True", condition
        assert fields["requestsWaiting"] == 4
        assert fields["tokensPerSecond"] and fields["tokensPerSecond"] > 0
        assert fields["downloadedBytes"] == downloaded
        # A figure that exists only during a download is not one that "has no data yet".
        assert "no data" not in condition["message"]
        return fields

    # A first start downloading its model, as `storybang inference` exports it while loading.
    endpoints.downloaded.labels("HuggingFaceTB/SmolLM2-135M-Instruct").set(150_000_000)
    eventually(lambda: read(150_000_000), timeout=30, not_yet=lambda e: isinstance(e, AssertionError))
    endpoints.downloaded.remove("HuggingFaceTB/SmolLM2-135M-Instruct")  # loaded: the series goes
    eventually(lambda: read(None), timeout=30, not_yet=lambda e: isinstance(e, AssertionError))
    other = specs.parse(example("ModelServer", "llama-story"), specs.ModelServer)
    fields, [condition] = observe.model_server_load(
        prometheus.PrometheusReader(timeout=2), other, plat, shown=None, generation=1, previous=[]
    )
    # Another server's pods export nothing here: no figures, and the condition says which.
    assert fields == {"requestsWaiting": None, "tokensPerSecond": None, "downloadedBytes": None}
    assert condition["status"] == "True"
    assert "no data yet for requestsWaiting, tokensPerSecond" in condition["message"]
