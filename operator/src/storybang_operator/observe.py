"""How loaded a Generator or a ModelServer is, for its status: the queue straight from Redis (where
it lives: no Prometheus needed to see a backlog), job durations and model-server load from the
Platform's Prometheus when `spec.monitoring.prometheusAddress` names one.

Each source has a condition: `QueueObserved` (Redis) and `MetricsObserved` (Prometheus). A source
that cannot be read makes its condition False with the reason and leaves its figures out of the
status; a figure Prometheus has no data for (no job ended lately, an engine that does not export
it) is left out while the condition stays True. Messages never carry the figures, so that a
changed figure alone does not rewrite a condition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from storybang_operator import errors, prometheus, queue, slo, specs, status

QUEUE_OBSERVED = "QueueObserved"
METRICS_OBSERVED = "MetricsObserved"

# Figures that only exist at times (a download in progress): their absence is not "no data yet".
OCCASIONAL = {"downloadedBytes"}

Fields = dict[str, Any]
Condition = dict[str, Any]


def generator_load(
    queues: queue.QueueReader,
    prom: prometheus.PrometheusReader,
    gen: specs.Generator,
    plat: specs.Platform,
    *,
    redis_url: Callable[[], str],
    key: str,
    shown: Mapping[str, Any] | None,
    generation: int,
    previous: Sequence[Mapping[str, Any]],
) -> tuple[Fields, list[Condition]]:
    """queueDepth, oldestJobAgeSeconds, p95JobDurationSeconds and the conditions of their sources."""
    depth: float | None = None
    oldest: float | None = None
    try:
        backlog = queues.backlog(redis_url(), key)
        depth, oldest = backlog.depth, backlog.oldest_age_seconds
        queued = status.condition(
            QUEUE_OBSERVED, True, "Read", f"{key} read from Redis", generation=generation, previous=previous
        )
    except (errors.ApiError, errors.DependencyNotReady) as e:
        queued = status.condition(QUEUE_OBSERVED, False, e.reason, e.message, generation=generation, previous=previous)
    address = plat.spec.monitoring.prometheus_address
    query = slo.job_duration_p95(gen.namespace, plat.name, gen.spec.task)
    values, measured = _query(prom, address, {"p95JobDurationSeconds": query}, generation, previous)
    fields = slo.figures(
        shown,
        {
            "queueDepth": (depth, slo.QUEUE_DEPTH),
            "oldestJobAgeSeconds": (oldest, slo.OLDEST_AGE),
            "p95JobDurationSeconds": (values["p95JobDurationSeconds"], slo.DURATION),
        },
    )
    return fields, [queued, measured]


def model_server_load(
    prom: prometheus.PrometheusReader,
    ms: specs.ModelServer,
    plat: specs.Platform | None,
    *,
    shown: Mapping[str, Any] | None,
    generation: int,
    previous: Sequence[Mapping[str, Any]],
) -> tuple[Fields, list[Condition]]:
    """requestsWaiting, tokensPerSecond and, while a first start downloads its model,
    downloadedBytes, from the Platform's Prometheus (or, for a ModelServer of no Platform, the one
    its autoscaling reads), and the condition of that source."""
    address = plat.spec.monitoring.prometheus_address if plat is not None else None
    if address is None and ms.spec.autoscaling is not None:
        address = ms.spec.autoscaling.prometheus_address
    queries = {
        "requestsWaiting": slo.requests_waiting(ms.namespace, ms.name),
        "tokensPerSecond": slo.tokens_per_second(ms.namespace, ms.name),
        "downloadedBytes": slo.downloaded_bytes(ms.namespace, ms.name),
    }
    values, measured = _query(prom, address, queries, generation, previous)
    fields = slo.figures(
        shown,
        {
            "requestsWaiting": (values["requestsWaiting"], slo.WAITING),
            "tokensPerSecond": (values["tokensPerSecond"], slo.TOKENS_PER_SECOND),
            "downloadedBytes": (values["downloadedBytes"], slo.DOWNLOADED),
        },
    )
    return fields, [measured]


def _query(
    prom: prometheus.PrometheusReader,
    address: str | None,
    queries: Mapping[str, str],
    generation: int,
    previous: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, float | None], Condition]:
    """The value of each query (None where unknown) and the MetricsObserved condition."""
    values: dict[str, float | None] = dict.fromkeys(queries)
    if address is None:
        reason, message = "PrometheusNotConfigured", "the Platform names no spec.monitoring.prometheusAddress"
        return values, status.condition(
            METRICS_OBSERVED, False, reason, message, generation=generation, previous=previous
        )
    try:
        for field, query in queries.items():
            values[field] = prom.scalar(address, query)
    except errors.ApiError as e:
        return dict.fromkeys(queries), status.condition(
            METRICS_OBSERVED, False, e.reason, e.message, generation=generation, previous=previous
        )
    missing = sorted(field for field, value in values.items() if value is None and field not in OCCASIONAL)
    message = f"read from {address}" + (f"; no data yet for {', '.join(missing)}" if missing else "")
    return values, status.condition(METRICS_OBSERVED, True, "Read", message, generation=generation, previous=previous)
