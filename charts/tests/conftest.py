"""Render the chart with the real helm binary and hand the manifests to the tests.

helm is $HELM, else bin/helm (`make tools`), else helm on the PATH; without one the tests fail
and say so. Renders are cached per set of values: the whole suite runs a few dozen `helm template`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "storybang"
RELEASE = "sb"
NAMESPACE = "stories"
FULLNAME = "sb-storybang"
# The Kubernetes version renders assume (a helm built without version ldflags would say v1.20, which
# the chart's kubeVersion refuses); the local control plane of tools/cluster is 1.34.
KUBE_VERSION = "1.34.0"

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]


def helm_binary() -> str:
    for candidate in (os.environ.get("HELM"), str(ROOT / "bin" / "helm"), shutil.which("helm")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("no helm binary: run `make tools` (bin/helm) or set HELM", pytrace=False)


class RenderError(Exception):
    pass


def _set_args(values: dict[str, Any]) -> list[str]:
    # --set-json keeps types exactly (a string stays a string, null stays null).
    return [arg for key, value in values.items() for arg in ("--set-json", f"{key}={json.dumps(value)}")]


_cache: dict[str, list[Manifest]] = {}


def render_chart(values: dict[str, Any] | None = None, *, api_versions: tuple[str, ...] = ()) -> list[Manifest]:
    """`helm template` with dotted-path values; the manifests, or RenderError with helm's message."""
    values = values or {}
    key = json.dumps([values, api_versions], sort_keys=True)
    if key not in _cache:
        cmd = [helm_binary(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        cmd += ["--kube-version", KUBE_VERSION, *_set_args(values)]
        for api in api_versions:
            cmd += ["--api-versions", api]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise RenderError(proc.stderr.strip())
        _cache[key] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return _cache[key]


@pytest.fixture(scope="session")
def render() -> Render:
    return render_chart


@pytest.fixture(scope="session")
def default_manifests() -> list[Manifest]:
    return render_chart()


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload the chart renders itself."""
    for m in manifests:
        if m["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield f"{m['kind']}/{m['metadata']['name']}", m["spec"]["template"]["spec"]
        elif m["kind"] == "CronJob":
            yield f"CronJob/{m['metadata']['name']}", m["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif m["kind"] == "Pod":
            yield f"Pod/{m['metadata']['name']}", m["spec"]


def crds() -> dict[str, Manifest]:
    """The chart's CRDs by kind."""
    out = {}
    for path in sorted((CHART / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out[doc["spec"]["names"]["kind"]] = doc
    return out
