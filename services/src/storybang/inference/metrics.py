"""Prometheus metrics of `storybang inference`, named like vLLM's where they mean the same, so one
dashboard and one autoscaling rule (waiting requests) fit both engines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Time to first token: tens of milliseconds on a GPU, up to seconds on a busy CPU.
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# A whole answer: a caption in a fraction of a second, a long story on a CPU in minutes.
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Between two pieces of streamed text: ~10 ms on a GPU, ~100 ms for a small model on a CPU.
_ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

# The label is ``route``, not ``endpoint``: Prometheus operator monitors give every target an
# ``endpoint`` label (the port's name), which would rename ours to ``exported_endpoint``.

REQUESTS = Counter(
    "storybang_inference_requests_total", "Requests answered, by route and outcome.", ["route", "outcome"]
)
PROMPT_TOKENS = Counter("storybang_inference_prompt_tokens_total", "Prompt tokens read, by route.", ["route"])
GENERATED_TOKENS = Counter("storybang_inference_generated_tokens_total", "Tokens generated, by route.", ["route"])
TIME_TO_FIRST_TOKEN = Histogram(
    "storybang_inference_time_to_first_token_seconds",
    "From request to the first text delta, by route.",
    ["route"],
    buckets=_TTFT_BUCKETS,
)
INTER_TOKEN_LATENCY = Histogram(
    "storybang_inference_inter_token_latency_seconds",
    "Between two streamed text deltas of one answer, by route.",
    ["route"],
    buckets=_ITL_BUCKETS,
)
LATENCY = Histogram(
    "storybang_inference_request_duration_seconds",
    "From request to the last byte, by route.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
WAITING = Gauge("storybang_inference_requests_waiting", "Generations queued behind the running ones.")
RUNNING = Gauge("storybang_inference_requests_running", "Generations computing now.")
DEVICE_MEMORY = Gauge(
    "storybang_inference_device_memory_bytes",
    "Memory the models hold, by device: on a GPU what torch has allocated there (weights, caches, "
    "activations); on a CPU the weights' size.",
    ["device"],
)


@dataclass
class Observation:
    """One request's timings, recorded when it ends."""

    route: str
    started: float = field(default_factory=time.perf_counter)
    first: float | None = None
    last: float | None = None

    def delta(self) -> None:
        """A piece of text went out: the first one times the first token, the others the gaps."""
        now = time.perf_counter()
        if self.last is None:
            self.first = now
            TIME_TO_FIRST_TOKEN.labels(self.route).observe(now - self.started)
        else:
            INTER_TOKEN_LATENCY.labels(self.route).observe(now - self.last)
        self.last = now

    def done(self, outcome: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        REQUESTS.labels(self.route, outcome).inc()
        LATENCY.labels(self.route).observe(time.perf_counter() - self.started)
        PROMPT_TOKENS.labels(self.route).inc(prompt_tokens)
        GENERATED_TOKENS.labels(self.route).inc(completion_tokens)


def watch_memory(model: Any) -> None:
    """Export the device memory of ``model`` (a torch module), read at scrape time on a GPU."""
    device = model.device
    if device.type == "cuda":
        import torch

        DEVICE_MEMORY.labels(str(device)).set_function(lambda: torch.cuda.memory_allocated(device))
    else:
        tensors = [*model.parameters(), *model.buffers()]
        DEVICE_MEMORY.labels(str(device)).set(sum(t.numel() * t.element_size() for t in tensors))
