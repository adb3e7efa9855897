"""Prometheus metrics of generation: jobs and backend calls (workers), the queues (the API).

Labels are facts of the sample (``task``, ``backend``, ``outcome``, ``reason``), never a name that
Prometheus gives its targets (``namespace``, ``pod``, ``container``, ``endpoint``, ``job``,
``instance``, and the chart's ``platform``, ``domain``, ``component``): a clash would rename ours to
``exported_*`` and every query on it would come back empty.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Jobs run from a fraction of a second (a translation by Apertium) to many minutes (a long story on
# a busy CPU): buckets up to the longest time limit a Generator is likely to set.
JOB_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)
# One model call: tens of milliseconds for a short answer on a GPU, minutes for a long story on a CPU.
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
# Time to first token: tens of milliseconds warm, seconds with a long prompt or a queue in front.
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# Why a job failed, as a small fixed set (the job document keeps the full reason).
REASONS = ("timeout", "backends_down", "rejected", "unsupported", "no_backend", "invalid", "internal", "lost")

JOBS = Counter(
    "storybang_generation_jobs_total",
    "Jobs a worker finished, by task and outcome (succeeded, failed, cancelled, retried, skipped, lost).",
    ["task", "outcome"],
)
FAILURES = Counter(
    "storybang_generation_job_failures_total",
    "Jobs that failed for good, by task and reason (timeout, backends_down, rejected, unsupported, "
    "no_backend, invalid, internal, lost).",
    ["task", "reason"],
)
DURATION = Histogram(
    "storybang_generation_job_duration_seconds",
    "From a worker taking a job to its end, by task and outcome.",
    ["task", "outcome"],
    buckets=JOB_BUCKETS,
)
RUNNING = Gauge("storybang_generation_jobs_running", "Jobs this worker is running now, by task.", ["task"])
TOKENS = Counter(
    "storybang_generation_tokens_total",
    "Tokens of succeeded jobs (prompt and completion), by task and the backend that answered.",
    ["task", "backend"],
)
BACKEND_CALLS = Counter(
    "storybang_generation_backend_requests_total",
    "Calls to model backends, by task, backend and outcome (ok, unavailable, unsupported, rejected, error).",
    ["task", "backend", "outcome"],
)
BACKEND_DURATION = Histogram(
    "storybang_generation_backend_request_duration_seconds",
    "How long one call to a model backend takes, by task and backend.",
    ["task", "backend"],
    buckets=CALL_BUCKETS,
)
FALLBACKS = Counter(
    "storybang_generation_fallbacks_total",
    "Backends passed over for the next one (down, cold or unable to do the task), by task and the backend passed over.",
    ["task", "backend"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "storybang_generation_time_to_first_token_seconds",
    "From asking a backend for a story to its first text, by task and backend.",
    ["task", "backend"],
    buckets=TTFT_BUCKETS,
)
SLOTS = Gauge(
    "storybang_generation_worker_slots",
    "Jobs of a task this worker can run at once (its threads); no series when no worker serves the task.",
    ["task"],
)
TIMEOUT = Gauge(
    "storybang_generation_job_timeout_seconds",
    "The time limit of one job, by task, as this worker applies it.",
    ["task"],
)


def worker_started(tasks: list[str], concurrency: int, timeout_seconds: int) -> None:
    """Say what this worker serves: alerts compare queued jobs with the slots that can take them."""
    for task in tasks:
        SLOTS.labels(task).set(concurrency)
        TIMEOUT.labels(task).set(timeout_seconds)
        # Zero, not absent, until something happens: a ratio over no jobs yet is 0, not nothing,
        # and a rate has a sample to start from when the first job ends.
        for outcome in ("succeeded", "failed"):
            JOBS.labels(task, outcome)
        for reason in REASONS:
            FAILURES.labels(task, reason)
        RUNNING.labels(task)


def reason_of(error: BaseException) -> str:
    """The reason class of an error that failed a job (see :data:`REASONS`)."""
    from storybang import errors
    from storybang.generation.backends.base import Rejected, Unavailable, Unsupported
    from storybang.generation.backends.chain import NoBackend

    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, Unavailable | errors.Unavailable):
        return "backends_down"
    if isinstance(error, Rejected):
        return "rejected"
    if isinstance(error, Unsupported):
        return "unsupported"
    if isinstance(error, NoBackend):
        return "no_backend"
    if isinstance(error, errors.StoryBangError):
        return "invalid"
    return "internal"
