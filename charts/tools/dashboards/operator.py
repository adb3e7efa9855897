"""The operator: reconcile passes, their failures and duration, what it writes and its queue of
work. Reads the metrics of storybang_operator.metrics, scraped by the chart's ServiceMonitor."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as grafana

from dashboards.common import RATE, Panel, Row, build, q, query_variable, ratio

OP = '{namespace=~"$namespace"}'
ERRORS = '{namespace=~"$namespace", result="error"}'
PODS = '{namespace=~"$namespace", job=~".*operator-metrics"}'


def dashboard() -> str:
    now = Row(
        "Now",
        [
            Panel(
                "Reconciles / min", [q(f"sum(rate(storybang_operator_reconciles_total{OP}[{RATE}])) * 60")], kind="stat"
            ),
            Panel(
                "Failed passes",
                [
                    q(
                        ratio(
                            f"sum(rate(storybang_operator_reconciles_total{ERRORS}[{RATE}]))",
                            f"sum(rate(storybang_operator_reconciles_total{OP}[{RATE}]))",
                        )
                    )
                ],
                unit="percentunit",
                kind="stat",
            ),
            Panel(
                "Child writes / min",
                [q(f"sum(rate(storybang_operator_child_writes_total{OP}[{RATE}])) * 60")],
                kind="stat",
            ),
            Panel("Operator pods up", [q(f"sum(up{PODS})")], kind="stat"),
        ],
    )
    passes = Row(
        "Reconciles",
        [
            Panel(
                "Reconciles / s by kind and result",
                [
                    q(
                        f"sum by (kind, result) (rate(storybang_operator_reconciles_total{OP}[{RATE}]))",
                        "{{kind}} {{result}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Failures / s by kind and reason",
                [
                    q(
                        f"sum by (kind, reason) (rate(storybang_operator_errors_total{OP}[{RATE}]))",
                        "{{kind}} {{reason}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Reconcile duration by kind",
                [
                    q(
                        f"histogram_quantile({p}, sum by (kind, le) "
                        f"(rate(storybang_operator_reconcile_duration_seconds_bucket{OP}[{RATE}])))",
                        f"{{{{kind}}}} p{n}",
                    )
                    for p, n in (("0.5", 50), ("0.95", 95))
                ],
                unit="s",
            ),
            Panel(
                "Queue of work: resources waiting for a pass, passes running",
                [
                    q(f"sum(storybang_operator_work_queue_waiting{OP})", "waiting"),
                    q(f"sum by (kind) (storybang_operator_passes_in_progress{OP})", "running {{kind}}"),
                ],
            ),
            Panel(
                "Writes / s: children by owner kind, status by kind",
                [
                    q(
                        f"sum by (kind) (rate(storybang_operator_child_writes_total{OP}[{RATE}]))",
                        "children of {{kind}}",
                    ),
                    q(
                        f"sum by (kind) (rate(storybang_operator_status_writes_total{OP}[{RATE}]))",
                        "status of {{kind}}",
                    ),
                ],
                unit="ops",
            ),
        ],
    )
    process = Row(
        "Process",
        [
            Panel("CPU", [q(f"sum by (pod) (rate(process_cpu_seconds_total{PODS}[{RATE}]))", "{{pod}}")]),
            Panel("Memory", [q(f"sum by (pod) (process_resident_memory_bytes{PODS})", "{{pod}}")], unit="bytes"),
        ],
    )
    variables = [
        grafana.DatasourceVariable("datasource").label("Data source").type("prometheus"),
        query_variable("namespace", "Namespace", "label_values(storybang_operator_reconciles_total, namespace)"),
    ]
    return build(
        "storybang-operator",
        "StoryBang / Operator",
        "Reconcile passes, failures, duration, writes and queue of work of the StoryBang operator.",
        [now, passes, process],
        variables,
    )
