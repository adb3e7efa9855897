"""Platform → ConfigMap, ServiceAccount, Ingress, NetworkPolicies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storybang_operator import errors
from storybang_operator.builders import platform
from tests.builders import typed
from tests.builders.pods import assert_owned, by_kind, one

Example = Callable[..., dict[str, Any]]


def _build(plat: dict[str, Any], services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return platform.build(typed.platform(plat), [typed.domain_service(ds) for ds in services])


@pytest.fixture
def plat(example: Example) -> dict[str, Any]:
    return example("Platform", "storybang")


@pytest.fixture
def services(example: Example) -> list[dict[str, Any]]:
    return [
        example("DomainService", name)
        for name in ("identity", "characters", "stories", "generation", "notifier", "web")
    ]


def test_children_are_owned_and_labelled(plat: dict[str, Any], services: list[dict[str, Any]]) -> None:
    assert_owned(_build(plat, services), plat)


def test_config_map_holds_settings_but_no_secret(plat: dict[str, Any]) -> None:
    data = one(_build(plat, []), "ConfigMap")["data"]
    assert data["STORYBANG_ENV"] == "production"
    assert data["STORYBANG_AUTH__ACCESS_TOKEN_TTL_SECONDS"] == "900"
    assert data["STORYBANG_PUBLIC_URL"] == "https://stories.example.com"
    assert data["STORYBANG_MAIL__SMTP_HOST"] == "smtp.example.com"
    assert not any(k.endswith(("__URL", "SIGNING_KEY", "PASSWORD")) for k in data)


def test_trusted_proxies_reach_every_pod_through_the_config_map(plat: dict[str, Any]) -> None:
    plat["spec"]["trustedProxies"] = ["10.244.0.0/16", "fd00:10:244::/56"]
    data = one(_build(plat, []), "ConfigMap")["data"]
    assert data["STORYBANG_TRUSTED_PROXIES"] == "10.244.0.0/16,fd00:10:244::/56"
    del plat["spec"]["trustedProxies"]
    # None given: the services keep their own default (loopback only), not an empty list.
    assert "STORYBANG_TRUSTED_PROXIES" not in one(_build(plat, []), "ConfigMap")["data"]


@pytest.mark.parametrize("proxy", ["10.244.0.1/16", "ingress-nginx"])
def test_a_trusted_proxy_that_is_no_address_or_network_is_an_invalid_spec(plat: dict[str, Any], proxy: str) -> None:
    plat["spec"]["trustedProxies"] = ["10.0.0.0/8", proxy]
    with pytest.raises(errors.InvalidSpec, match=rf"trustedProxies: .*{proxy}"):
        _build(plat, [])


def test_secrets_reach_pods_as_references(plat: dict[str, Any]) -> None:
    env = {e["name"]: e for e in platform.secret_env(typed.platform(plat))}
    assert env["STORYBANG_REDIS__URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "storybang-redis",
        "key": "url",
    }
    assert env["STORYBANG_AUTH__SIGNING_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "signing-key"
    assert env["STORYBANG_MAIL__SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "storybang-smtp"
    assert all("value" not in e for e in env.values())


def test_service_account_mounts_no_token(plat: dict[str, Any]) -> None:
    account = one(_build(plat, []), "ServiceAccount")
    assert account["metadata"]["name"] == "storybang-workload"
    assert account["automountServiceAccountToken"] is False


def test_ingress_routes_each_domain_to_its_service(plat: dict[str, Any], services: list[dict[str, Any]]) -> None:
    ingress = one(_build(plat, services), "Ingress")
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "stories.example.com"
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes["/api/v1/auth"] == "identity"
    assert routes["/.well-known"] == "identity"
    assert routes["/api/v1/generations"] == "generation"
    assert routes["/socket.io"] == "notifier"
    assert routes["/"] == "web"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["stories.example.com"], "secretName": "storybang-tls"}]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"


def test_no_ingress_until_a_domain_service_exists(plat: dict[str, Any]) -> None:
    assert by_kind(_build(plat, []), "Ingress") == []


def test_disabled_ingress_renders_none(plat: dict[str, Any], services: list[dict[str, Any]]) -> None:
    plat["spec"]["ingress"]["enabled"] = False
    assert by_kind(_build(plat, services), "Ingress") == []
    assert "STORYBANG_PUBLIC_URL" not in one(_build(plat, []), "ConfigMap")["data"]


def test_settings_change_changes_the_pods_config_hash(plat: dict[str, Any]) -> None:
    before = platform.config_hash(typed.platform(plat))
    plat["spec"]["logLevel"] = "debug"
    assert platform.config_hash(typed.platform(plat)) != before


def test_missing_datastore_secret_is_an_invalid_spec(plat: dict[str, Any]) -> None:
    del plat["spec"]["datastores"]["mongo"]
    with pytest.raises(errors.InvalidSpec, match=r"datastores\.mongo\.secretName"):
        _build(plat, [])


def test_non_storybang_setting_is_an_invalid_spec(plat: dict[str, Any]) -> None:
    plat["spec"]["settings"] = {"LD_PRELOAD": "x"}
    with pytest.raises(errors.InvalidSpec) as caught:
        _build(plat, [])
    assert caught.value.reason == "InvalidSpec"


def _gateway(plat: dict[str, Any]) -> dict[str, Any]:
    plat["spec"]["ingress"]["enabled"] = False
    plat["spec"]["gateway"] = {
        "parentRefs": [{"name": "public", "namespace": "infra", "sectionName": "https"}],
        "hostnames": ["stories.example.com"],
        "annotations": {"example.com/team": "stories"},
    }
    return plat


def test_http_route_has_the_ingress_routes_instead_of_an_ingress(
    plat: dict[str, Any], services: list[dict[str, Any]]
) -> None:
    ingress_paths = one(_build(plat, services), "Ingress")["spec"]["rules"][0]["http"]["paths"]
    children = _build(_gateway(plat), services)
    assert by_kind(children, "Ingress") == []
    route = one(children, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["metadata"]["annotations"]["example.com/team"] == "stories"
    spec = route["spec"]
    assert spec["parentRefs"] == [{"name": "public", "namespace": "infra", "sectionName": "https"}]
    assert spec["hostnames"] == ["stories.example.com"]
    routes = [
        (rule["matches"][0]["path"]["type"], rule["matches"][0]["path"]["value"], rule["backendRefs"][0]["name"])
        for rule in spec["rules"]
    ]
    assert routes == [("PathPrefix", p["path"], p["backend"]["service"]["name"]) for p in ingress_paths]
    assert ("PathPrefix", "/socket.io", "notifier") in routes
    assert {ref["port"] for rule in spec["rules"] for ref in rule["backendRefs"]} == {8000}
    assert one(children, "ConfigMap")["data"]["STORYBANG_PUBLIC_URL"] == "https://stories.example.com"


def test_no_http_route_without_the_gateway_apis_crds(plat: dict[str, Any], services: list[dict[str, Any]]) -> None:
    children = platform.build(
        typed.platform(_gateway(plat)), [typed.domain_service(ds) for ds in services], gateway_api=False
    )
    assert by_kind(children, "HTTPRoute") == [] and by_kind(children, "Ingress") == []
    assert by_kind(children, "NetworkPolicy")


def test_no_http_route_until_a_domain_service_exists(plat: dict[str, Any]) -> None:
    assert by_kind(_build(_gateway(plat), []), "HTTPRoute") == []


def test_a_gateway_whose_listener_is_plain_http_gives_an_http_public_url(plat: dict[str, Any]) -> None:
    _gateway(plat)["spec"]["gateway"]["https"] = False
    assert one(_build(plat, []), "ConfigMap")["data"]["STORYBANG_PUBLIC_URL"] == "http://stories.example.com"


def test_an_ingress_and_a_gateway_together_are_an_invalid_spec(plat: dict[str, Any]) -> None:
    _gateway(plat)["spec"]["ingress"]["enabled"] = True
    with pytest.raises(errors.InvalidSpec, match="ingress and gateway are alternatives"):
        _build(plat, [])


@pytest.mark.parametrize("missing", ["parentRefs", "hostnames"])
def test_a_gateway_without_parents_or_hosts_is_an_invalid_spec(plat: dict[str, Any], missing: str) -> None:
    del _gateway(plat)["spec"]["gateway"][missing]
    with pytest.raises(errors.InvalidSpec, match="parentRefs and hostnames are required"):
        _build(plat, [])
