"""The operator's dashboard shows data when a real Prometheus scrapes the operator at work on a real
API server: reconciles, a failing pass (a ModelServer whose profile does not exist), child and
status writes. The other dashboards are checked with the services' processes
(services/tests/monitoring)."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import StartOperator
from kube import Cluster, eventually, example
from storybang_testing import prometheus

# The labels a Prometheus operator gives the chart's ServiceMonitor target: the metrics Service's
# namespace and name (as `job`), the port's name, the pod and its container.
RELEASE_NAMESPACE, SERVICE = "storybang-system", "storybang-operator-metrics"


def test_every_operator_panel_shows_data(
    cluster: Cluster, namespace: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator(namespace)
    server = example("modelserver-gpu-vllm-story.yaml")
    server["spec"]["profile"] = "no-such-profile"
    cluster.apply(namespace, [example("platform.yaml"), example("generator-scale-to-zero.yaml"), server])
    target = {
        "targets": [f"127.0.0.1:{operator.metrics_port}"],
        "labels": {
            "namespace": RELEASE_NAMESPACE,
            "service": SERVICE,
            "job": SERVICE,
            "endpoint": "metrics",
            "pod": "storybang-operator-7b9c-xyz12",
            "container": "operator",
        },
    }
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": f"serviceMonitor/{RELEASE_NAMESPACE}/operator/0", "static_configs": [target]}],
    }
    with prometheus.prometheus(tmp_path / "prometheus", config) as prom:
        ready = eventually(lambda: cluster.ready(namespace, "ModelServer", "llama-story"))
        assert ready["reason"] == "ProfileNotFound"

        def reported() -> bool:
            errors = prom.query('sum(storybang_operator_errors_total{kind="ModelServer"})')
            writes = prom.query("sum(storybang_operator_child_writes_total)")
            return bool(errors and writes)

        eventually(reported, timeout=60)
        time.sleep(3)  # rates need two scrapes or more
        empty = prometheus.panels_without_data("operator", prom)
    assert not empty, "panels without data:\n" + "\n".join(empty)
