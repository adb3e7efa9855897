"""Monitors only where the Prometheus operator is installed; dashboards for Grafana's sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import FULLNAME, NAMESPACE, Manifest, Render, by_kind, one

MONITORING = ("monitoring.coreos.com/v1",)
FILES = Path(__file__).resolve().parents[1] / "storybang" / "files"


def test_no_monitors_on_a_plain_cluster(default_manifests: list[Manifest]) -> None:
    assert not [m for m in default_manifests if m["apiVersion"].startswith("monitoring.coreos.com/")]


def test_monitors_when_the_prometheus_operator_is_installed(render: Render) -> None:
    manifests = render({"monitoring.serviceMonitors.labels": {"release": "kps"}}, api_versions=MONITORING)
    service_monitor = one(manifests, "ServiceMonitor", f"{FULLNAME}-operator")
    assert service_monitor["metadata"]["labels"]["release"] == "kps"
    assert service_monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = one(manifests, "Service", f"{FULLNAME}-operator-metrics")
    assert service["spec"]["selector"] == service_monitor["spec"]["selector"]["matchLabels"]
    pod_monitor = one(manifests, "PodMonitor", f"{FULLNAME}-platform")
    assert pod_monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/part-of": "storybang",
        "storybang.io/platform": FULLNAME,
    }
    assert {e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]} == {"http", "metrics"}
    # The relabelling the Prometheus tests (services/tests/monitoring) scrape through, as it is.
    shared = yaml.safe_load((FILES / "monitoring" / "relabelings.yaml").read_text())["pods"]
    for endpoint in pod_monitor["spec"]["podMetricsEndpoints"]:
        assert endpoint["relabelings"] == shared
    targets = {r["targetLabel"] for r in shared}
    assert {"platform", "domain", "component"} <= targets
    # The workers' metrics carry `task` themselves: a target label of that name would rename theirs.
    assert "task" not in targets
    assert not by_kind(render({"monitoring.serviceMonitors.enabled": False}, api_versions=MONITORING), "PodMonitor")


def test_without_the_prometheus_operator_scrape_jobs_label_series_as_the_monitors_do(
    render: Render, default_manifests: list[Manifest]
) -> None:
    scrape = one(default_manifests, "ConfigMap", f"{FULLNAME}-prometheus-scrape")
    pods, operator = yaml.safe_load(scrape["data"]["storybang.yml"])["scrape_configs"]
    # The monitors' relabelling, in Prometheus's own spelling, after the Prometheus operator's
    # target labels: the PodMonitor's job is <namespace>/<name>, the ServiceMonitor's its Service.
    shared = yaml.safe_load((FILES / "monitoring" / "relabelings.yaml").read_text())["pods"]
    spelled = [{"source_labels": r["sourceLabels"], "target_label": r["targetLabel"]} for r in shared]
    assert pods["relabel_configs"][-len(spelled) :] == spelled
    targets = {r.get("target_label"): r for r in pods["relabel_configs"]}
    assert {"namespace", "pod", "container", "endpoint", "job"} <= set(targets)
    assert targets["job"]["replacement"] == f"{NAMESPACE}/{FULLNAME}-platform"
    keep = pods["relabel_configs"][0]
    assert keep["action"] == "keep"
    assert keep["source_labels"][0] == "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
    assert keep["regex"] == f"true;storybang;{FULLNAME};(http|metrics)"
    operator_targets = {r.get("target_label"): r.get("replacement") for r in operator["relabel_configs"]}
    assert operator_targets["job"] == operator_targets["service"] == f"{FULLNAME}-operator-metrics"
    one(default_manifests, "Service", f"{FULLNAME}-operator-metrics")
    with_operator = render({}, api_versions=MONITORING)
    assert not [m for m in by_kind(with_operator, "ConfigMap") if m["metadata"]["name"].endswith("prometheus-scrape")]
    assert not [
        m
        for m in by_kind(render({"monitoring.scrapeConfig.enabled": False}), "ConfigMap")
        if m["metadata"]["name"].endswith("prometheus-scrape")
    ]


def test_alert_rules_are_the_ones_promtool_tests(render: Render, default_manifests: list[Manifest]) -> None:
    assert not by_kind(default_manifests, "PrometheusRule")
    manifests = render({"monitoring.alerts.labels": {"release": "kps"}}, api_versions=MONITORING)
    rule = one(manifests, "PrometheusRule", f"{FULLNAME}-alerts")
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["spec"] == yaml.safe_load((FILES / "alerts.yaml").read_text())
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    assert len(alerts) >= 10
    assert all(r["annotations"]["runbook"].strip() and r["labels"]["severity"] for r in alerts)
    assert not by_kind(render({"monitoring.alerts.enabled": False}, api_versions=MONITORING), "PrometheusRule")


def test_dashboards_are_labelled_for_the_grafana_sidecar(default_manifests: list[Manifest]) -> None:
    maps = [m for m in by_kind(default_manifests, "ConfigMap") if "dashboard" in m["metadata"]["name"]]
    assert {next(iter(m["data"])) for m in maps} == {
        "overview.json",
        "generation.json",
        "model-servers.json",
        "notifier.json",
        "operator.json",
    }
    for m in maps:
        assert m["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((key, text),) = m["data"].items()
        assert key.endswith(".json")
        dashboard = json.loads(text)
        assert dashboard["uid"].startswith("storybang-")
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        assert exprs
        assert all(e.strip() for e in exprs)


def test_overview_dashboard_reads_the_instrumentator_metrics(default_manifests: list[Manifest]) -> None:
    text = one(default_manifests, "ConfigMap", f"{FULLNAME}-dashboard-overview")["data"]["overview.json"]
    assert "http_requests_total" in text
    assert "http_request_duration_seconds_bucket" in text
