"""Platform → NetworkPolicies: deny by default, then the paths StoryBang needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storybang_operator import errors
from storybang_operator.builders import networkpolicies, platform
from tests.builders import typed
from tests.builders.pods import assert_owned, by_kind

Example = Callable[..., dict[str, Any]]


@pytest.fixture
def plat(example: Example) -> dict[str, Any]:
    return example("Platform", "storybang")


def test_policies_are_owned_by_the_platform(plat: dict[str, Any]) -> None:
    assert_owned(networkpolicies.build(typed.platform(plat)), plat)


def test_datastore_ports_follow_the_spec(plat: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["datastorePorts"] = [6380]
    policies = {p["metadata"]["name"]: p["spec"] for p in networkpolicies.build(typed.platform(plat))}
    assert policies["storybang-allow-datastores"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 6380}]


def test_external_https_can_be_switched_off(plat: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["allowExternalHTTPS"] = False
    names = {p["metadata"]["name"] for p in networkpolicies.build(typed.platform(plat))}
    assert not any("https" in n for n in names)


def test_network_policies_deny_by_default_then_allow_the_needed_paths(plat: dict[str, Any]) -> None:
    del plat["spec"]["networkPolicies"]["ingressFrom"]  # the default: the controller's namespace
    policies = {
        p["metadata"]["name"]: p["spec"] for p in by_kind(platform.build(typed.platform(plat), []), "NetworkPolicy")
    }
    deny = policies["storybang-default-deny"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "storybang"}}
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    dns = policies["storybang-allow-dns"]["egress"][0]
    assert {p["port"] for p in dns["ports"]} == {53}
    controller = policies["storybang-allow-ingress-controller"]
    assert controller["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "domain-service"
    assert controller["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    stores = policies["storybang-allow-datastores"]["egress"][0]["ports"]
    assert {p["port"] for p in stores} == {6379, 3306, 27017}
    model = policies["storybang-allow-model-servers"]
    assert model["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "model-server"
    assert {
        "storybang-allow-internal-http",
        "storybang-allow-smtp",
        "storybang-allow-metrics",
    } <= set(policies)


def test_network_policies_can_be_switched_off(plat: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["enabled"] = False
    assert by_kind(platform.build(typed.platform(plat), []), "NetworkPolicy") == []


def _ingress_from(plat: dict[str, Any]) -> list[dict[str, Any]]:
    policies = {p["metadata"]["name"]: p["spec"] for p in networkpolicies.build(typed.platform(plat))}
    rule: list[dict[str, Any]] = policies["storybang-allow-ingress-controller"]["ingress"][0]["from"]
    return rule


def test_the_examples_ingress_from_admits_the_controllers_own_pods(plat: dict[str, Any]) -> None:
    [peer] = _ingress_from(plat)
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}


def test_ingress_from_peers_replace_the_controller_namespace(plat: dict[str, Any]) -> None:
    peers = [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateways"}},
            "podSelector": {
                "matchLabels": {"app.kubernetes.io/name": "envoy"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge"]}],
            },
        },
        {"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/25"]}},
    ]
    plat["spec"]["networkPolicies"]["ingressFrom"] = peers
    assert _ingress_from(plat) == peers


def test_an_empty_selector_in_a_peer_is_kept_because_it_selects_everything(plat: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["ingressFrom"] = [{"namespaceSelector": {}}]
    assert _ingress_from(plat) == [{"namespaceSelector": {}}]


@pytest.mark.parametrize(
    "peer",
    [{}, {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}],
    ids=["nothing", "ip-block-with-a-selector"],
)
def test_a_peer_that_kubernetes_would_refuse_is_an_invalid_spec(plat: dict[str, Any], peer: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["ingressFrom"] = [peer]
    with pytest.raises(errors.InvalidSpec, match=r"networkPolicies\.ingressFrom\[0\]: a peer is"):
        networkpolicies.build(typed.platform(plat))


def _dns_to(plat: dict[str, Any]) -> list[dict[str, Any]]:
    policies = {p["metadata"]["name"]: p["spec"] for p in networkpolicies.build(typed.platform(plat))}
    egress: list[dict[str, Any]] = policies["storybang-allow-dns"]["egress"]
    assert len(egress) == 1
    assert egress[0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return egress[0]["to"]  # type: ignore[no-any-return]


def test_dns_goes_to_the_kube_dns_pods_of_the_dns_namespace_by_default(plat: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["dnsNamespace"] = "dns"
    assert _dns_to(plat) == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]


def test_dns_to_peers_admit_node_local_dns_cache(plat: dict[str, Any]) -> None:
    peers = [
        {"ipBlock": {"cidr": "169.254.20.10/32"}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}},
    ]
    plat["spec"]["networkPolicies"]["dnsTo"] = peers
    assert _dns_to(plat) == peers


def test_a_dns_peer_that_kubernetes_would_refuse_is_an_invalid_spec(plat: dict[str, Any]) -> None:
    plat["spec"]["networkPolicies"]["dnsTo"] = [{"ipBlock": {"cidr": "169.254.20.10/32"}, "podSelector": {}}]
    with pytest.raises(errors.InvalidSpec, match=r"networkPolicies\.dnsTo\[0\]: a peer is"):
        networkpolicies.build(typed.platform(plat))
