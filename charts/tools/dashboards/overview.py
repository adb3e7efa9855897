"""Platform overview: is StoryBang serving people well right now? For whoever is on call."""

from __future__ import annotations

from dashboards.common import RATE, Panel, Row, build, q, ratio, selector, standard_variables

API = selector()
FIVE_XX = selector('status="5xx"')
FAILED = selector('outcome="failed"')
ENDED = selector('outcome=~"succeeded|failed"')
HIT = selector('result="hit"')


def dashboard() -> str:
    requests = f"sum(rate(http_requests_total{API}[{RATE}]))"
    errors = f"sum(rate(http_requests_total{FIVE_XX}[{RATE}]))"
    p95 = f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{API}[{RATE}])))"
    jobs = f"rate(storybang_generation_jobs_total{selector()}[{RATE}])"
    failed = f"sum(rate(storybang_generation_jobs_total{FAILED}[{RATE}]))"
    ended = f"sum(rate(storybang_generation_jobs_total{ENDED}[{RATE}]))"
    depth = f"sum(max by (task) (storybang_generation_queue_depth{selector()}))"
    users = f"sum(storybang_notifier_connected_users{selector()})"
    now = Row(
        "Now",
        [
            Panel("Requests / s", [q(requests)], unit="reqps", kind="stat"),
            Panel("Server errors (5xx)", [q(ratio(errors, requests))], unit="percentunit", kind="stat"),
            Panel("API latency p95", [q(p95)], unit="s", kind="stat"),
            Panel("Jobs waiting", [q(depth)], kind="stat"),
            Panel("Failed jobs", [q(ratio(failed, ended))], unit="percentunit", kind="stat"),
            Panel("Users connected", [q(users)], kind="stat"),
        ],
    )
    traffic = Row(
        "Requests",
        [
            Panel(
                "Requests / s by domain",
                [q(f"sum by (domain) (rate(http_requests_total{API}[{RATE}]))", "{{domain}}")],
                unit="reqps",
                stack=True,
            ),
            Panel(
                "Server error ratio by domain",
                [
                    q(
                        ratio(
                            f"sum by (domain) (rate(http_requests_total{FIVE_XX}[{RATE}]))",
                            f"sum by (domain) (rate(http_requests_total{API}[{RATE}]))",
                        ),
                        "{{domain}}",
                    )
                ],
                unit="percentunit",
            ),
            Panel(
                "API latency",
                [
                    q(
                        f"histogram_quantile({p}, sum by (le) "
                        f"(rate(http_request_duration_seconds_bucket{API}[{RATE}])))",
                        f"p{int(float(p) * 100)}",
                    )
                    for p in ("0.50", "0.95", "0.99")
                ],
                unit="s",
            ),
            Panel(
                "Character lists answered from memory",
                [
                    q(
                        ratio(
                            f"sum(rate(storybang_kept_pages_total{HIT}[{RATE}]))",
                            f"sum(rate(storybang_kept_pages_total{API}[{RATE}]))",
                        ),
                        "kept pages",
                    )
                ],
                unit="percentunit",
                description="Reads of writers' lists of characters answered from a page an API process kept "
                "(services/src/storybang/stores/pages.py). Writers changing their characters, and API pods "
                "starting, lower it.",
            ),
            Panel(
                "Pods up by component",
                [q(f"sum by (component) (up{selector()})", "{{component}}")],
                stack=True,
            ),
        ],
    )
    work = Row(
        "Jobs",
        [
            Panel(
                "Jobs finished / s by outcome", [q(f"sum by (outcome) ({jobs})", "{{outcome}}")], unit="ops", stack=True
            ),
            Panel(
                "Jobs waiting by task",
                [q(f"max by (task) (storybang_generation_queue_depth{selector()})", "{{task}}")],
                stack=True,
            ),
            Panel("Users connected", [q(users, "users")]),
            Panel(
                "Tokens / s by task",
                [q(f"sum by (task) (rate(storybang_generation_tokens_total{selector()}[{RATE}]))", "{{task}}")],
                stack=True,
            ),
        ],
    )
    return build(
        "storybang-overview",
        "StoryBang / Overview",
        "Requests, errors, latency, jobs, queues and people connected, across the platform.",
        [now, traffic, work],
        standard_variables(),
    )
