"""The storybang-crds chart: the storybang chart's CRDs as templates of a release of their own, so
`helm upgrade` upgrades them (Helm installs a chart's crds/ once and never touches them again)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from conftest import CHART, KUBE_VERSION, Manifest, crds, helm_binary

CRDS_CHART = CHART.parent / "storybang-crds"


def render_crds(*args: str) -> list[Manifest]:
    cmd = [helm_binary(), "template", "storybang-crds", str(CRDS_CHART), "--kube-version", KUBE_VERSION, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def chart_crds() -> dict[str, Manifest]:
    """Every CRD of the storybang chart's crds/ (both Kopf peerings), by name."""
    out = {}
    for path in sorted((CHART / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if doc:
                out[doc["metadata"]["name"]] = doc
    return out


def test_the_crds_chart_renders_the_storybang_chart_s_crds_unchanged_but_for_its_metadata() -> None:
    rendered = {m["metadata"]["name"]: m for m in render_crds()}
    source = chart_crds()
    assert rendered.keys() == source.keys()
    assert {crd["spec"]["names"]["kind"] for crd in source.values()} >= crds().keys()
    for name, crd in rendered.items():
        assert crd["spec"] == source[name]["spec"], name
        metadata = crd["metadata"]
        assert metadata["annotations"] == {"helm.sh/resource-policy": "keep"}, name
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_uninstall_deletes_the_crds_only_when_asked() -> None:
    for crd in render_crds("--set", "keep=false"):
        assert "annotations" not in crd["metadata"]
