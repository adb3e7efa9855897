"""Prometheus metrics of the workers (scraped from `storybang worker`'s metrics port)."""

from prometheus_client import Counter, Histogram

JOBS = Counter("storybang_generation_jobs_total", "Jobs that reached an end, by task and outcome", ["task", "outcome"])
DURATION = Histogram(
    "storybang_generation_job_duration_seconds",
    "Time from a worker taking a job to its end",
    ["task"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
TOKENS = Counter("storybang_generation_tokens_total", "Tokens generated (prompt and completion)", ["task"])
