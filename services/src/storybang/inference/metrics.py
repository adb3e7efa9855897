"""Prometheus metrics of `storybang inference`, named like vLLM's where they mean the same, so one
dashboard and one autoscaling rule (waiting requests) fit both engines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

# Time to first token: tens of milliseconds on a GPU, up to seconds on a busy CPU.
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUESTS = Counter(
    "storybang_inference_requests_total", "Requests answered, by endpoint and outcome", ["endpoint", "outcome"]
)
PROMPT_TOKENS = Counter("storybang_inference_prompt_tokens_total", "Prompt tokens read", ["endpoint"])
GENERATED_TOKENS = Counter("storybang_inference_generated_tokens_total", "Tokens generated", ["endpoint"])
TIME_TO_FIRST_TOKEN = Histogram(
    "storybang_inference_time_to_first_token_seconds",
    "From request to the first text delta",
    ["endpoint"],
    buckets=_TTFT_BUCKETS,
)
LATENCY = Histogram(
    "storybang_inference_request_duration_seconds",
    "From request to the last byte",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
)
WAITING = Gauge("storybang_inference_requests_waiting", "Generations queued behind the running one")
RUNNING = Gauge("storybang_inference_requests_running", "Generations computing now")


@dataclass
class Observation:
    """One request's timings, recorded when it ends."""

    endpoint: str
    started: float = field(default_factory=time.perf_counter)
    first: float | None = None

    def first_token(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()
            TIME_TO_FIRST_TOKEN.labels(self.endpoint).observe(self.first - self.started)

    def done(self, outcome: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        REQUESTS.labels(self.endpoint, outcome).inc()
        LATENCY.labels(self.endpoint).observe(time.perf_counter() - self.started)
        PROMPT_TOKENS.labels(self.endpoint).inc(prompt_tokens)
        GENERATED_TOKENS.labels(self.endpoint).inc(completion_tokens)
