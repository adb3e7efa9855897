"""A real Prometheus (Debian's package, `scripts/prometheus.sh install`) on a free loopback port,
scraping StoryBang processes as the chart's PodMonitor makes a Prometheus operator scrape pods.

A PodMonitor becomes, for each pod: the operator's own relabelling (``namespace``, ``pod``,
``container``, ``job`` and ``endpoint`` from the pod and the monitor), then the monitor's
``relabelings``, which here are read from the file the chart renders them from
(charts/storybang/files/monitoring/relabelings.yaml). Our processes are not pods, so each target
carries the ``__meta_kubernetes_*`` labels Kubernetes discovery would give its pod.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from storybang_testing.waiting import free_port

REPO = Path(__file__).resolve().parents[3]
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


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.base}/api/v1/query", params={"query": expr}, timeout=30)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def label_values(self, selector: str, label: str) -> list[str]:
        r = httpx.get(f"{self.base}/api/v1/series", params={"match[]": selector}, timeout=30)
        r.raise_for_status()
        return sorted({s[label] for s in r.json()["data"] if label in s})

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = httpx.get(f"{self.base}/api/v1/targets").json()["data"]["activeTargets"]
        return active

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        data: dict[str, list[dict[str, str]]] = httpx.get(f"{self.base}/api/v1/metadata").json()["data"]
        return data

    def label_names(self) -> list[str]:
        names: list[str] = httpx.get(f"{self.base}/api/v1/labels").json()["data"]
        return names


@contextmanager
def prometheus(folder: Path, pods: list[Pod]) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is not installed: run scripts/prometheus.sh install (make test does)")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(pods)))
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - Debian's prometheus with our own flags
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(folder / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready")
            time.sleep(0.2)
        yield Prometheus(base)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
