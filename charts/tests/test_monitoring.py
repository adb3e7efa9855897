"""Monitors only where the Prometheus operator is installed; dashboards for Grafana's sidecar."""

from __future__ import annotations

import json

from conftest import FULLNAME, Manifest, Render, by_kind, one

MONITORING = ("monitoring.coreos.com/v1",)


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
    targets = {r["targetLabel"] for r in pod_monitor["spec"]["podMetricsEndpoints"][0]["relabelings"]}
    assert {"platform", "domain", "task"} <= targets
    assert not by_kind(render({"monitoring.serviceMonitors.enabled": False}, api_versions=MONITORING), "PodMonitor")


def test_dashboards_are_labelled_for_the_grafana_sidecar(default_manifests: list[Manifest]) -> None:
    maps = [m for m in by_kind(default_manifests, "ConfigMap") if "dashboard" in m["metadata"]["name"]]
    assert {m["metadata"]["name"].rsplit("-", 1)[-1] for m in maps} == {"api", "generation", "operator"}
    for m in maps:
        assert m["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((key, text),) = m["data"].items()
        assert key.endswith(".json")
        dashboard = json.loads(text)
        assert dashboard["uid"].startswith("storybang-")
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        assert exprs
        assert all(e.strip() for e in exprs)


def test_api_dashboard_reads_the_instrumentator_metrics(default_manifests: list[Manifest]) -> None:
    text = one(default_manifests, "ConfigMap", f"{FULLNAME}-dashboard-api")["data"]["api.json"]
    assert "http_requests_total" in text
    assert "http_request_duration_seconds_bucket" in text
