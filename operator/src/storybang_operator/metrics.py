"""Prometheus metrics of the operator: reconciles, their outcome and duration, and writes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import prometheus_client

RECONCILES = prometheus_client.Counter(
    "storybang_operator_reconciles_total",
    "Reconcile passes, by resource kind, trigger and result.",
    ["kind", "trigger", "result"],
)
ERRORS = prometheus_client.Counter(
    "storybang_operator_errors_total",
    "Failed reconcile passes, by resource kind and reason.",
    ["kind", "reason"],
)
DURATION = prometheus_client.Histogram(
    "storybang_operator_reconcile_duration_seconds",
    "How long one reconcile pass takes, by resource kind.",
    ["kind"],
)
WRITES = prometheus_client.Counter(
    "storybang_operator_child_writes_total",
    "Children created, changed or deleted, by resource kind of the owner.",
    ["kind"],
)

STATUS_WRITES = prometheus_client.Counter(
    "storybang_operator_status_writes_total",
    "Status patches of the custom resources, by kind and trigger (none when nothing changed).",
    ["kind", "trigger"],
)


_serving: set[int] = set()


def serve(port: int) -> None:
    """Expose the metrics on `port` (0: not at all); once per process and port."""
    if port and port not in _serving:
        prometheus_client.start_http_server(port)
        _serving.add(port)


@contextlib.contextmanager
def reconcile(kind: str, trigger: str) -> Iterator[None]:
    """Time a pass and count its result; an exception counts as an error with its reason."""
    started = time.perf_counter()
    try:
        yield
    except Exception as e:
        ERRORS.labels(kind, getattr(e, "reason", type(e).__name__)).inc()
        RECONCILES.labels(kind, trigger, "error").inc()
        raise
    else:
        RECONCILES.labels(kind, trigger, "ok").inc()
    finally:
        DURATION.labels(kind).observe(time.perf_counter() - started)
