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
