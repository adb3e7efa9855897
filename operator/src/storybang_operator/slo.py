"""Service-level figures in a resource's status: what to ask Prometheus for, and when a new
figure is different enough from the one shown to be worth a status write.

A resync every half minute must not write a status whose figures moved by a job or a second: each
figure is kept as shown while the new one is within a tolerance of it (an absolute floor and a
share of the value), and written at once when it reaches or leaves zero (an empty queue filling
up, or draining). A figure whose source cannot be read is left out of the status (its printer
column shows `<none>`), never written as zero; a condition says why.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

# Job durations over a quarter of an hour: long enough for a few story jobs, short enough to show
# a slowdown while it lasts. Rates of tokens over five minutes, as the dashboards' panels.
DURATION_WINDOW = "15m"
RATE_WINDOW = "5m"


@dataclasses.dataclass(frozen=True)
class Tolerance:
    absolute: float
    relative: float
    digits: int  # decimals kept


QUEUE_DEPTH = Tolerance(absolute=0, relative=0.1, digits=0)
OLDEST_AGE = Tolerance(absolute=15, relative=0.2, digits=0)
DURATION = Tolerance(absolute=0.05, relative=0.1, digits=2)
WAITING = Tolerance(absolute=0, relative=0.1, digits=0)
TOKENS_PER_SECOND = Tolerance(absolute=1, relative=0.1, digits=1)
# A download's progress: rewritten every 5% (or 64 MiB, for a small model), not on every pass.
DOWNLOADED = Tolerance(absolute=64 * 2**20, relative=0.05, digits=0)


def _rounded(value: float, tolerance: Tolerance) -> int | float:
    return round(value) if tolerance.digits == 0 else round(value, tolerance.digits)


def settle(shown: Any, new: float | None, tolerance: Tolerance) -> int | float | None:
    """The figure to write: `shown` while `new` is within the tolerance of it, else `new` rounded;
    None (the field removed) when there is no new figure."""
    if new is None:
        return None
    value = _rounded(new, tolerance)
    if not isinstance(shown, int | float) or isinstance(shown, bool) or shown == 0 or value == 0:
        return value
    if abs(value - shown) <= max(tolerance.absolute, tolerance.relative * abs(shown)):
        return shown
    return value


def figures(shown: Mapping[str, Any] | None, new: Mapping[str, tuple[float | None, Tolerance]]) -> dict[str, Any]:
    """Status fields from new figures, each settled against what the status shows."""
    shown = shown or {}
    return {field: settle(shown.get(field), value, tolerance) for field, (value, tolerance) in new.items()}


def _selector(labels: Mapping[str, str], *matchers: str) -> str:
    return "{" + ", ".join([*(f'{k}="{_quoted(v)}"' for k, v in labels.items()), *matchers]) + "}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def job_duration_p95(namespace: str, platform: str, task: str) -> str:
    """The 95th percentile of how long a task's jobs took (succeeded or failed) on a platform, from
    the workers' histogram as the chart's monitors label it."""
    where = _selector({"namespace": namespace, "platform": platform, "task": task}, 'outcome=~"succeeded|failed"')
    return (
        "histogram_quantile(0.95, sum by (le) "
        f"(rate(storybang_generation_job_duration_seconds_bucket{where}[{DURATION_WINDOW}])))"
    )


def _model_server_pods(namespace: str, name: str) -> str:
    # A ModelServer's pods are its Deployment's: <name>-<template hash>-<suffix>.
    pod = _quoted(re.escape(name) + "-[a-z0-9]+-[a-z0-9]+")
    return _selector({"namespace": namespace, "component": "model-server"}, f'pod=~"{pod}"')


def requests_waiting(namespace: str, name: str) -> str:
    """Requests queued behind the running ones on all of a ModelServer's pods, whichever engine."""
    pods = _model_server_pods(namespace, name)
    return f"sum(storybang_inference_requests_waiting{pods}) or sum(vllm:num_requests_waiting{pods})"


def tokens_per_second(namespace: str, name: str) -> str:
    """Tokens generated per second by all of a ModelServer's pods, whichever engine."""
    pods = _model_server_pods(namespace, name)
    return (
        f"sum(rate(storybang_inference_generated_tokens_total{pods}[{RATE_WINDOW}])) "
        f"or sum(rate(vllm:generation_tokens_total{pods}[{RATE_WINDOW}]))"
    )


def downloaded_bytes(namespace: str, name: str) -> str:
    """The bytes of its model that `storybang inference` has downloaded, on all of a ModelServer's
    pods: a series exists only while a pod loads a model named by its hub id."""
    return f"sum(storybang_inference_model_download_bytes{_model_server_pods(namespace, name)})"
