"""A Platform exposed through the Gateway API: the operator says so while the Gateway API's CRDs
are missing, without failing the rest of the platform, and renders the HTTPRoute once they are
installed. The HTTPRoute CRD is the Gateway API's own (standard channel), read from its Go module
as scripts/keda.sh reads KEDA's; no Gateway controller runs here, only the API server checks the
route."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import kubernetes
import yaml
from kopf.testing import KopfRunner

from storybang_testing.kube import eventually
from tests.cluster import resources
from tests.cluster.conftest import OPERATOR_ENV

GATEWAY_API = "sigs.k8s.io/gateway-api@v1.2.1"
HTTP_ROUTE_CRD = "httproutes.gateway.networking.k8s.io"
GROUP, VERSION = "gateway.networking.k8s.io", "v1"


def _http_route_crd() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        found = subprocess.run(
            ["go", "mod", "download", "-json", GATEWAY_API],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
            cwd=scratch,
            env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"},
        )
    path = Path(json.loads(found.stdout)["Dir"]) / "config" / "crd" / "standard" / f"{GROUP}_httproutes.yaml"
    crd: dict[str, Any] = yaml.safe_load(path.read_text())
    return crd


def _remove_crd(ext: kubernetes.client.ApiextensionsV1Api) -> None:
    try:
        ext.delete_custom_resource_definition(HTTP_ROUTE_CRD)
    except kubernetes.client.ApiException as e:
        if e.status != 404:
            raise

    def gone() -> bool:
        try:
            ext.read_custom_resource_definition(HTTP_ROUTE_CRD)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    eventually(gone)


def _condition(api: kubernetes.client.ApiClient, namespace: str, type_: str) -> dict[str, Any]:
    st = resources.status(api, namespace, "platforms", "storybang")
    return next((c for c in st.get("conditions", []) if c["type"] == type_), {})


def _operator(namespace: str) -> KopfRunner:
    args = ["run", "--standalone", "--namespace", namespace, "-m", "storybang_operator"]
    return KopfRunner(args, timeout=120, env=OPERATOR_ENV)


def test_http_route_waits_for_the_gateway_api_then_routes_like_the_ingress(
    api: kubernetes.client.ApiClient, namespace: str
) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(api)
    custom = kubernetes.client.CustomObjectsApi(api)
    crd = _http_route_crd()
    _remove_crd(ext)
    plat = resources.example("platform.yaml")
    plat["spec"]["ingress"] = {"enabled": False}
    plat["spec"]["gateway"] = {
        "parentRefs": [{"name": "public", "namespace": "infra"}],
        "hostnames": ["stories.example.com"],
    }
    resources.apply(api, namespace, plat)
    resources.apply(api, namespace, resources.example("domain-services.yaml", "identity"))
    try:
        with _operator(namespace) as runner:
            routed = eventually(lambda: _condition(api, namespace, "Routed"))
            assert (routed["status"], routed["reason"]) == ("False", "GatewayAPINotInstalled")
            assert HTTP_ROUTE_CRD in routed["message"]
            assert _condition(api, namespace, "Ready")["status"] == "True"
        assert runner.exception is None, runner.output

        ext.create_custom_resource_definition(crd)
        eventually(
            lambda: any(
                c.type == "Established" and c.status == "True"
                for c in ext.read_custom_resource_definition(HTTP_ROUTE_CRD).status.conditions or []
            )
        )
        with _operator(namespace) as runner:
            route = eventually(
                lambda: custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "httproutes", "storybang")
            )
            eventually(lambda: _condition(api, namespace, "Routed").get("status") == "True")
        assert runner.exception is None, runner.output
    finally:
        _remove_crd(ext)
    spec = route["spec"]
    assert spec["parentRefs"][0]["name"] == "public" and spec["hostnames"] == ["stories.example.com"]
    routes = {rule["matches"][0]["path"]["value"]: rule["backendRefs"][0]["name"] for rule in spec["rules"]}
    assert routes["/api/v1/auth"] == "identity"
    assert route["metadata"]["ownerReferences"][0]["kind"] == "Platform"
    net = kubernetes.client.NetworkingV1Api(api)
    assert net.list_namespaced_ingress(namespace).items == []
    assert resources.status(api, namespace, "platforms", "storybang")["url"] == "https://stories.example.com"
