"""Generation: per task and backend, how far behind the queues are and how the jobs and models
behave. For whoever runs the generators and their model backends."""

from __future__ import annotations

from dashboards.common import (
    RATE,
    Panel,
    Query,
    Row,
    build,
    q,
    query_variable,
    ratio,
    selector,
    standard_variables,
)

VARIABLES = ("namespace", "platform", "task")
TASK = selector(variables=VARIABLES)
BACKEND = selector(variables=(*VARIABLES, "backend"))
FAILED = selector('outcome="failed"', variables=VARIABLES)
ENDED = selector('outcome=~"succeeded|failed"', variables=VARIABLES)
SUCCEEDED = selector('outcome="succeeded"', variables=VARIABLES)


def _quantiles(metric: str, by: str, where: str) -> list[Query]:
    return [
        q(f"histogram_quantile({p}, sum by ({by}, le) (rate({metric}_bucket{where}[{RATE}])))", f"{{{{{by}}}}} p{n}")
        for p, n in (("0.5", 50), ("0.95", 95))
    ]


def dashboard() -> str:
    queues = Row(
        "Queues",
        [
            Panel("Jobs waiting by task", [q(f"max by (task) (storybang_generation_queue_depth{TASK})", "{{task}}")]),
            Panel(
                "Oldest waiting job by task",
                [q(f"max by (task) (storybang_generation_queue_oldest_job_age_seconds{TASK})", "{{task}}")],
                unit="s",
            ),
            Panel(
                "Worker slots by task",
                [q(f"sum by (task) (storybang_generation_worker_slots{TASK})", "{{task}}")],
                description="Jobs the running workers can hold at once; nothing here means no worker serves the task.",
            ),
            Panel("Jobs running by task", [q(f"sum by (task) (storybang_generation_jobs_running{TASK})", "{{task}}")]),
        ],
    )
    jobs = Row(
        "Jobs",
        [
            Panel(
                "Jobs finished / s by task and outcome",
                [
                    q(
                        f"sum by (task, outcome) (rate(storybang_generation_jobs_total{TASK}[{RATE}]))",
                        "{{task}} {{outcome}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Failures / s by task and reason",
                [
                    q(
                        f"sum by (task, reason) (rate(storybang_generation_job_failures_total{TASK}[{RATE}]))",
                        "{{task}} {{reason}}",
                    )
                ],
                unit="ops",
                description="The full reason of each failed job: GET /api/v1/admin/generations/failed.",
            ),
            Panel(
                "Failed job ratio by task",
                [
                    q(
                        ratio(
                            f"sum by (task) (rate(storybang_generation_jobs_total{FAILED}[{RATE}]))",
                            f"sum by (task) (rate(storybang_generation_jobs_total{ENDED}[{RATE}]))",
                        ),
                        "{{task}}",
                    )
                ],
                unit="percentunit",
            ),
            Panel(
                "Job duration by task (succeeded)",
                _quantiles("storybang_generation_job_duration_seconds", "task", SUCCEEDED),
                unit="s",
            ),
        ],
    )
    backends = Row(
        "Backends",
        [
            Panel(
                "Backend calls / s by backend and outcome",
                [
                    q(
                        "sum by (backend, outcome) "
                        f"(rate(storybang_generation_backend_requests_total{BACKEND}[{RATE}]))",
                        "{{backend}} {{outcome}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Fallbacks / s by backend passed over",
                [
                    q(
                        f"sum by (task, backend) (rate(storybang_generation_fallbacks_total{BACKEND}[{RATE}]))",
                        "{{task}}: {{backend}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Backend call duration",
                _quantiles("storybang_generation_backend_request_duration_seconds", "backend", BACKEND),
                unit="s",
            ),
            Panel(
                "Time to first token (stories)",
                _quantiles("storybang_generation_time_to_first_token_seconds", "backend", BACKEND),
                unit="s",
            ),
            Panel(
                "Tokens / s by task and backend",
                [
                    q(
                        f"sum by (task, backend) (rate(storybang_generation_tokens_total{BACKEND}[{RATE}]))",
                        "{{task}} {{backend}}",
                    )
                ],
                width=24,
            ),
        ],
    )
    variables = [
        *standard_variables(),
        query_variable(
            "task",
            "Task",
            'label_values(storybang_generation_queue_depth{namespace=~"$namespace", platform=~"$platform"}, task)',
        ),
        query_variable(
            "backend",
            "Backend",
            "label_values(storybang_generation_backend_requests_total"
            '{namespace=~"$namespace", platform=~"$platform", task=~"$task"}, backend)',
        ),
    ]
    return build(
        "storybang-generation",
        "StoryBang / Generation",
        "Queues, jobs, failures and model backends, per task and backend.",
        [queues, jobs, backends],
        variables,
    )
