"""A real Prometheus (storybang_testing.prometheus) scraping StoryBang processes as the chart's
PodMonitor makes a Prometheus operator scrape pods, or as the chart's scrape jobs for a Prometheus
without that operator (templates/monitoring/scrape-config.yaml) do.

A PodMonitor becomes, for each pod: the operator's own relabelling (``namespace``, ``pod``,
``container``, ``job`` and ``endpoint`` from the pod and the monitor), then the monitor's
``relabelings``, which here are read from the file the chart renders them from
(charts/storybang/files/monitoring/relabelings.yaml). Our processes are not pods, so each target
carries the ``__meta_kubernetes_*`` labels Kubernetes discovery would give its pod; the chart's
scrape jobs are rendered by `helm template` and given the same targets instead of discovery.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from storybang_testing.prometheus import REPO, Prometheus, prometheus

RELABELINGS = REPO / "charts/storybang/files/monitoring/relabelings.yaml"
NAMESPACE, PLATFORM, MONITOR = "storybang-test", "sb", "storybang-platform"
SCRAPE_INTERVAL = "1s"
# The annotations the operator gives every pod it runs for a platform whose monitoring.metrics is on
# (storybang_operator.builders.platform.pod_annotations), the port being the pod's metrics port.
SCRAPE_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics"}


@dataclass
class Pod:
    """A StoryBang process as the pod the operator would run it in."""

    name: str
    address: str  # host:port of its metrics
    port: str  # the container port's name: http, or metrics for workers
    labels: Mapping[str, str] = field(default_factory=dict)  # the pod's labels besides part-of and platform


def _name(key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


def _meta(pod: Pod) -> dict[str, str]:
    labels = {"app.kubernetes.io/part-of": "storybang", "storybang.io/platform": PLATFORM, **pod.labels}
    annotations = SCRAPE_ANNOTATIONS | {"prometheus.io/port": pod.address.rsplit(":", 1)[1]}
    meta = {f"__meta_kubernetes_pod_label_{_name(k)}": v for k, v in labels.items()}
    meta |= {f"__meta_kubernetes_pod_annotation_{_name(k)}": v for k, v in annotations.items()}
    return meta | {
        "__meta_kubernetes_namespace": NAMESPACE,
        "__meta_kubernetes_pod_name": pod.name,
        "__meta_kubernetes_pod_container_name": "storybang",
        "__meta_kubernetes_pod_container_port_name": pod.port,
    }


def _snake(relabeling: Mapping[str, Any]) -> dict[str, Any]:
    """A monitoring.coreos.com RelabelConfig (camelCase) as Prometheus's relabel_config."""
    return {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in relabeling.items()}


def chart_relabelings() -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = yaml.safe_load(RELABELINGS.read_text())["pods"]
    return [_snake(r) for r in pods]


def scrape_config(pods: list[Pod]) -> dict[str, Any]:
    operator_relabelings: list[dict[str, Any]] = [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"target_label": "job", "replacement": f"{NAMESPACE}/{MONITOR}"},
        {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "target_label": "endpoint"},
    ]
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL},
        "scrape_configs": [
            {
                "job_name": f"podMonitor/{NAMESPACE}/{MONITOR}",
                "static_configs": [{"targets": [pod.address], "labels": _meta(pod)} for pod in pods],
                "relabel_configs": operator_relabelings + chart_relabelings(),
            }
        ],
    }


def _helm() -> str:
    for candidate in (os.environ.get("HELM"), str(REPO / "bin" / "helm"), shutil.which("helm")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("no helm binary: run `make tools` (bin/helm) or set HELM")


def chart_scrape_jobs() -> list[dict[str, Any]]:
    """The chart's scrape jobs for a Prometheus without the Prometheus operator, rendered for this
    namespace and platform (release `storybang`: its PodMonitor would be MONITOR)."""
    args = ["template", "storybang", str(REPO / "charts/storybang"), "--namespace", NAMESPACE]
    args += ["--set", f"platform.name={PLATFORM}", "--show-only", "templates/monitoring/scrape-config.yaml"]
    rendered = subprocess.run(  # noqa: S603 - helm with our own arguments
        [_helm(), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    config_map = yaml.safe_load(rendered)
    jobs: list[dict[str, Any]] = yaml.safe_load(config_map["data"]["storybang.yml"])["scrape_configs"]
    return jobs


def annotation_scrape_config(pods: list[Pod]) -> dict[str, Any]:
    """The chart's pod job, with the pods as its targets in place of Kubernetes discovery (which
    would give each of them these ``__meta_kubernetes_*`` labels)."""
    [job] = [j for j in chart_scrape_jobs() if j["job_name"].endswith("/pods")]
    del job["kubernetes_sd_configs"]
    job["static_configs"] = [{"targets": [pod.address], "labels": _meta(pod)} for pod in pods]
    job["scrape_interval"] = SCRAPE_INTERVAL
    return {"global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL}, "scrape_configs": [job]}


@contextmanager
def scraping(folder: Path, pods: list[Pod]) -> Iterator[Prometheus]:
    """A real Prometheus scraping ``pods`` as the chart's PodMonitor has it scrape StoryBang pods."""
    with prometheus(folder, scrape_config(pods)) as prom:
        yield prom
