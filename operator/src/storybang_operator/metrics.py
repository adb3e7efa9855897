"""Prometheus metrics of the operator: reconciles, their outcome and duration, writes, and its queue
of work (resources waiting for a pass, passes running, passes to be retried).

One `Metrics` per operator, on a registry of its own (with the process, platform and garbage
collector collectors the default registry would carry): several operators in one process (the
cluster tests) never share counters, and nothing is registered at import.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

import prometheus_client


class Metrics:
    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry()
        prometheus_client.ProcessCollector(registry=self.registry)
        prometheus_client.PlatformCollector(registry=self.registry)
        prometheus_client.GCCollector(registry=self.registry)
        self.reconciles = prometheus_client.Counter(
            "storybang_operator_reconciles_total",
            "Reconcile passes, by resource kind, trigger and result.",
            ["kind", "trigger", "result"],
            registry=self.registry,
        )
        self.errors = prometheus_client.Counter(
            "storybang_operator_errors_total",
            "Failed reconcile passes, by resource kind and reason.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.duration = prometheus_client.Histogram(
            "storybang_operator_reconcile_duration_seconds",
            "How long one reconcile pass takes, by resource kind.",
            ["kind"],
            registry=self.registry,
        )
        self.writes = prometheus_client.Counter(
            "storybang_operator_child_writes_total",
            "Children created, changed or deleted, by resource kind of the owner.",
            ["kind"],
            registry=self.registry,
        )
        self.status_writes = prometheus_client.Counter(
            "storybang_operator_status_writes_total",
            "Status patches of the custom resources, by kind and trigger (none when nothing changed).",
            ["kind", "trigger"],
            registry=self.registry,
        )
        self.waiting = prometheus_client.Gauge(
            "storybang_operator_work_queue_waiting",
            "Resources queued for a pass (a periodic resync or a nudge by a child) and not started yet.",
            registry=self.registry,
        )
        self.in_progress = prometheus_client.Gauge(
            "storybang_operator_passes_in_progress",
            "Reconcile passes running now, by resource kind.",
            ["kind"],
            registry=self.registry,
        )
        self.retries = prometheus_client.Counter(
            "storybang_operator_retries_total",
            "Passes that failed in a way that may pass and will be retried after a delay, by kind and reason.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self._server: tuple[WSGIServer, threading.Thread] | None = None

    def watch_queue(self, waiting: Callable[[], int]) -> None:
        """Read the work queue's length at every scrape."""
        self.waiting.set_function(waiting)

    def serve(self, port: int) -> None:
        """Expose the metrics on `port` (0: not at all) until `stop`."""
        if port and self._server is None:
            self._server = prometheus_client.start_http_server(port, registry=self.registry)

    def stop(self) -> None:
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join()
            self._server = None

    @contextlib.contextmanager
    def reconcile(self, kind: str, trigger: str) -> Iterator[None]:
        """Time a pass and count its result; an exception counts as an error with its reason."""
        started = time.perf_counter()
        self.in_progress.labels(kind).inc()
        try:
            yield
        except Exception as e:
            self.errors.labels(kind, getattr(e, "reason", type(e).__name__)).inc()
            self.reconciles.labels(kind, trigger, "error").inc()
            raise
        else:
            self.reconciles.labels(kind, trigger, "ok").inc()
        finally:
            self.in_progress.labels(kind).dec()
            self.duration.labels(kind).observe(time.perf_counter() - started)
