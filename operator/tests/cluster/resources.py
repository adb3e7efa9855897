"""What the cluster tests share besides fixtures: where the cluster is, and reading and writing
the custom resources."""

from __future__ import annotations

import os
from typing import Any

import kubernetes
import yaml

from tests.conftest import MANIFESTS

KUBECONFIG = os.environ.get("STORYBANG_E2E_KUBECONFIG")
GROUP, VERSION = "storybang.io", "v1alpha1"
# The in-process operator's resync interval, short so that tests do not wait long.
RESYNC = 2.0


def apply(api: kubernetes.client.ApiClient, namespace: str, doc: dict[str, Any]) -> None:
    plural = doc["kind"].lower() + "s"
    kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, plural, doc)


def example(filename: str, name: str | None = None) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((MANIFESTS / filename).read_text()) if d]
    return next(d for d in docs if name is None or d["metadata"]["name"] == name)


def status(api: kubernetes.client.ApiClient, namespace: str, plural: str, name: str) -> dict[str, Any]:
    obj = kubernetes.client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    return dict(obj.get("status") or {})


def ready(st: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in st.get("conditions", []) if c["type"] == "Ready"), {})
