"""The operator's dashboard shows data when a real Prometheus scrapes the operator at work on a real
API server: reconciles, a failing pass (a ModelServer whose profile does not exist), child and
status writes, its queue of work; scraped as the chart's ServiceMonitor has a Prometheus operator
scrape it, and as the chart's scrape job for a Prometheus without that operator does, with the same
labels. The other dashboards are checked with the services' processes (services/tests/monitoring)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from conftest import StartOperator
from kube import CHART, Cluster, eventually, example
from storybang_testing import prometheus

# The labels a Prometheus operator gives the chart's ServiceMonitor target: the metrics Service's
# namespace and name (as `job`), the port's name, the pod and its container.
RELEASE_NAMESPACE, SERVICE = "storybang-system", "storybang-operator-metrics"
POD = "storybang-operator-7b9c-xyz12"


def chart_operator_job(cluster: Cluster, address: str) -> dict[str, Any]:
    """The chart's scrape job of the operator (release `storybang`), with the operator's pod as its
    target in place of Kubernetes discovery, which would give it these meta labels."""
    rendered = cluster.helm(
        "template",
        "storybang",
        str(CHART),
        "--namespace",
        RELEASE_NAMESPACE,
        "--show-only",
        "templates/monitoring/scrape-config.yaml",
    ).stdout
    jobs = yaml.safe_load(yaml.safe_load(rendered)["data"]["storybang.yml"])["scrape_configs"]
    [job] = [j for j in jobs if j["job_name"].endswith("/operator")]
    del job["kubernetes_sd_configs"]
    meta = {
        "__meta_kubernetes_namespace": RELEASE_NAMESPACE,
        "__meta_kubernetes_pod_name": POD,
        "__meta_kubernetes_pod_container_name": "operator",
        "__meta_kubernetes_pod_container_port_name": "metrics",
        "__meta_kubernetes_pod_label_app_kubernetes_io_instance": "storybang",
        "__meta_kubernetes_pod_label_app_kubernetes_io_component": "operator",
    }
    job["static_configs"] = [{"targets": [address], "labels": meta}]
    job["scrape_interval"] = "1s"
    return job


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
            "pod": POD,
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
        by_service_monitor = prom.targets()[0]["labels"]
    assert not empty, "panels without data:\n" + "\n".join(empty)

    plain = {"global": config["global"], "scrape_configs": [chart_operator_job(cluster, target["targets"][0])]}
    with prometheus.prometheus(tmp_path / "plain-prometheus", plain) as prom:
        eventually(lambda: prom.query("storybang_operator_reconciles_total"), timeout=30)
        time.sleep(3)  # rates need two scrapes or more
        assert prom.targets()[0]["labels"] == by_service_monitor
        empty = prometheus.panels_without_data("operator", prom)
    assert not empty, "panels without data (the chart's scrape job):\n" + "\n".join(empty)
