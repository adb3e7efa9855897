"""The platform's edges in the chart's values: the Gateway API's HTTPRoute instead of an Ingress,
the DNS the pods may ask, and the datastore ports the NetworkPolicies open, which follow the
configured URLs."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Manifest, Render, RenderError, by_kind, crds
from storybang_testing import crd_schema

GATEWAY = {
    "ingress.enabled": False,
    "gateway.enabled": True,
    "gateway.parentRefs": [{"name": "public", "namespace": "infra", "sectionName": "https"}],
    "gateway.hostnames": ["stories.example.com"],
}


def _platform(manifests: list[Manifest]) -> Manifest:
    (p,) = by_kind(manifests, "Platform")
    assert crd_schema.errors(crds()["Platform"], p) == []
    return p


def _ports(render: Render, values: dict[str, Any]) -> list[int]:
    ports: list[int] = _platform(render(values))["spec"]["networkPolicies"]["datastorePorts"]
    return ports


def test_gateway_values_go_into_the_platform_instead_of_the_ingress(render: Render) -> None:
    spec = _platform(render(GATEWAY | {"gateway.annotations": {"example.com/team": "stories"}}))["spec"]
    assert spec["gateway"] == {
        "enabled": True,
        "parentRefs": [{"name": "public", "namespace": "infra", "sectionName": "https"}],
        "hostnames": ["stories.example.com"],
        "https": True,
        "annotations": {"example.com/team": "stories"},
    }
    assert spec["ingress"] == {"enabled": False}
    assert "gateway" not in _platform(render())["spec"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (GATEWAY | {"ingress.enabled": True}, "gateway and ingress are alternatives"),
        (GATEWAY | {"gateway.parentRefs": []}, "gateway.parentRefs is required"),
        (GATEWAY | {"gateway.parentRefs": [{"namespace": "infra"}]}, "each entry needs a name"),
        (GATEWAY | {"gateway.hostnames": []}, "gateway.hostnames is required"),
        (GATEWAY | {"gateway.hostnames": ["Stories_Example"]}, '"Stories_Example" is not a lowercase DNS name'),
    ],
    ids=["with-ingress", "no-parents", "nameless-parent", "no-hostnames", "bad-hostname"],
)
def test_gateway_values_the_platform_would_refuse_stop_the_render(
    render: Render, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        render(values)


def test_dns_peers_go_into_the_platform(render: Render) -> None:
    node_local = [{"ipBlock": {"cidr": "169.254.20.10/32"}}]
    policies = _platform(render({"platform.networkPolicies.dnsTo": node_local}))["spec"]["networkPolicies"]
    assert policies["dnsTo"] == node_local
    assert "dnsTo" not in _platform(render())["spec"]["networkPolicies"]


def test_bundled_datastores_open_their_standard_ports(render: Render) -> None:
    assert _ports(render, {}) == [6379, 3306, 27017]


def test_datastore_ports_follow_external_urls(render: Render) -> None:
    values = {
        "redis.enabled": False,
        "externalRedis.url": "rediss://:p%40ss:word@redis.example.com:6380/2",
        "mysql.enabled": False,
        # No port: MySQL's default.
        "externalMysql.url": "mysql+asyncmy://sb:pw@mysql.example.com/stories?charset=utf8mb4",
        "mongodb.enabled": False,
        # A replica set: every member's port, IPv6 and portless ones included.
        "externalMongodb.url": "mongodb://sb:pw@a.example.com:27018,b.example.com:27019,[2001:db8::1]/stories",
    }
    assert _ports(render, values) == [6380, 3306, 27018, 27019, 27017]


def test_datastore_ports_of_existing_secrets_and_srv_urls_are_given_as_values(render: Render) -> None:
    values = {
        "redis.enabled": False,
        "externalRedis.existingSecret": "queue",
        "externalRedis.port": 16379,
        "mysql.enabled": False,
        "externalMysql.existingSecret": "users",
        "mongodb.enabled": False,
        "externalMongodb.url": "mongodb+srv://sb:pw@cluster0.example.com/stories",
        "externalMongodb.port": 27020,
    }
    assert _ports(render, values) == [16379, 3306, 27020]
