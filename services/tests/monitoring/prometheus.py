"""A real Prometheus (storybang_testing.prometheus) scraping StoryBang processes as the chart's
PodMonitor makes a Prometheus operator scrape pods.

A PodMonitor becomes, for each pod: the operator's own relabelling (``namespace``, ``pod``,
``container``, ``job`` and ``endpoint`` from the pod and the monitor), then the monitor's
``relabelings``, which here are read from the file the chart renders them from
(charts/storybang/files/monitoring/relabelings.yaml). Our processes are not pods, so each target
carries the ``__meta_kubernetes_*`` labels Kubernetes discovery would give its pod.
"""

from __future__ import annotations

import re
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


@dataclass
class Pod:
    """A StoryBang process as the pod the operator would run it in."""

    name: str
    address: str  # host:port of its metrics
    port: str  # the container port's name: http, or metrics for workers
    labels: Mapping[str, str] = field(default_factory=dict)  # the pod's labels besides part-of and platform


def _meta(pod: Pod) -> dict[str, str]:
    labels = {"app.kubernetes.io/part-of": "storybang", "storybang.io/platform": PLATFORM, **pod.labels}
    meta = {f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v for k, v in labels.items()}
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


@contextmanager
def scraping(folder: Path, pods: list[Pod]) -> Iterator[Prometheus]:
    """A real Prometheus scraping ``pods`` as the chart's PodMonitor has it scrape StoryBang pods."""
    with prometheus(folder, scrape_config(pods)) as prom:
        yield prom
