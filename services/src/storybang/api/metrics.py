"""The API's request metrics: only what the dashboards and alerts read, at a few microseconds a
request.

``http_requests_total`` by handler (the route's path template, ``none`` for a path no route
matched), method and status class (``2xx``), and ``http_request_duration_seconds`` by handler and
method — the names and labels of prometheus-fastapi-instrumentator, which this replaces on the hot
path: it matched every route a second time per request and built a Request and a Response object
around each (bench/metrics.py measures the difference). The route comes from the one the router
matched (``scope["route"]``).
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# API calls take from a few milliseconds (a cached read) to seconds (a login's password hash on a
# busy pod, an upload): buckets from 5 ms, fine where the latency targets are (100 ms to 1 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# The apps' telemetry is these metrics. FastAPI's own OpenTelemetry hooks, on by default, ask the
# global providers on every request whether one is configured (about a twentieth of a cached read's
# CPU); StoryBang configures none, so they are off.
FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
# Probes and scrapes are not traffic.
EXCLUDED = frozenset({"/metrics", "/healthz", "/readyz"})


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "http_requests_total",
            "Total number of requests by method, status and handler.",
            ("handler", "method", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Latency with only few buckets by handler.",
            ("handler", "method"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # Labelled children by (handler, method, status): .labels() costs more than the observation.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def observe(self, handler: str, method: str, status: int, seconds: float) -> None:
        key = (handler, method, f"{status // 100}xx")
        children = self._children.get(key)
        if children is None:
            children = self.requests.labels(*key), self.latency.labels(handler, method)
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def install(self, app: FastAPI) -> None:
        """Measure every request of ``app`` and serve the registry at ``/metrics``."""

        async def metrics(_: Request) -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        app.add_route("/metrics", metrics, include_in_schema=False)
        app.add_middleware(MetricsMiddleware, metrics=self)


_default: RequestMetrics | None = None


def request_metrics(registry: CollectorRegistry | None = None) -> RequestMetrics:
    """The metrics on ``registry``; without one, the process's default registry, whose metrics are
    made once however many apps a process builds."""
    global _default
    if registry is not None:
        return RequestMetrics(registry)
    if _default is None:
        _default = RequestMetrics(REGISTRY)
    return _default


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            handler = getattr(route, "path", None) or "none"
            if handler not in EXCLUDED:
                self.metrics.observe(handler, scope["method"], status, time.perf_counter() - started)
