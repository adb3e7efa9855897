"""A Platform's NetworkPolicies: deny everything to and from StoryBang pods in the namespace,
then allow DNS (kube-dns, or the peers of `dnsTo`, e.g. NodeLocal DNSCache), the ingress
controller (or the peers of `ingressFrom`) to the web and API pods, pods to datastores, pods
to APIs and model servers, HTTPS out for workers and model servers, SMTP and Prometheus when
switched on. StoryBang pods are those labelled
app.kubernetes.io/part-of=storybang, whatever their owner."""

from __future__ import annotations

from typing import Any

from storybang_operator import specs
from storybang_operator.builders import common


def _storybang_pods() -> dict[str, Any]:
    return {"matchLabels": {common.PART_OF_LABEL: common.PART_OF}}


def _component_pods(component: str) -> dict[str, Any]:
    return {"matchLabels": {common.PART_OF_LABEL: common.PART_OF, common.COMPONENT_LABEL: component}}


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def build(plat: specs.Platform) -> list[common.Manifest]:
    """Default deny for every StoryBang pod of the namespace, then the few paths it needs."""
    policy = plat.spec.network_policies

    def np(suffix: str, body: dict[str, Any]) -> common.Manifest:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": common.metadata(plat, f"{plat.name}-{suffix}", "platform"),
            "spec": body,
        }

    everyone = _storybang_pods()
    ingress_from = [peer.manifest() for peer in policy.ingress_from] or [
        _namespace(policy.ingress_controller_namespace)
    ]
    dns_to = [peer.manifest() for peer in policy.dns_to] or [
        {**_namespace(policy.dns_namespace), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    ]
    policies = [
        np("default-deny", {"podSelector": everyone, "policyTypes": ["Ingress", "Egress"]}),
        np(
            "allow-dns",
            {
                "podSelector": everyone,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": dns_to,
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ],
                    }
                ],
            },
        ),
        np(
            "allow-ingress-controller",
            {
                "podSelector": _component_pods("domain-service"),
                "policyTypes": ["Ingress"],
                "ingress": [{"from": ingress_from, "ports": _tcp(common.HTTP_PORT)}],
            },
        ),
        # The services talk to each other over HTTP only towards APIs and model servers.
        np(
            "allow-internal-http",
            {
                "podSelector": everyone,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {"podSelector": _component_pods("domain-service")},
                            {"podSelector": _component_pods("model-server")},
                        ],
                        "ports": _tcp(common.HTTP_PORT),
                    }
                ],
            },
        ),
        np(
            "allow-model-servers",
            {
                "podSelector": _component_pods("model-server"),
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": everyone}], "ports": _tcp(common.HTTP_PORT)}],
            },
        ),
        np(
            "allow-api-internal",
            {
                "podSelector": _component_pods("domain-service"),
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": everyone}], "ports": _tcp(common.HTTP_PORT)}],
            },
        ),
        # The datastores may live in this namespace, another one or outside the cluster (their
        # URLs are in Secrets the operator does not parse), so the rule is by port, not by peer;
        # the chart fills the ports from the datastores' URLs.
        np(
            "allow-datastores",
            {
                "podSelector": everyone,
                "policyTypes": ["Egress"],
                "egress": [{"ports": _tcp(*policy.datastore_ports)}],
            },
        ),
    ]
    if policy.allow_external_https:
        for component in ("worker", "model-server"):
            policies.append(
                np(
                    f"allow-https-{component}",
                    {
                        "podSelector": _component_pods(component),
                        "policyTypes": ["Egress"],
                        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _tcp(443)}],
                    },
                )
            )
    mail = plat.spec.mail
    if mail.backend == "smtp":
        policies.append(
            np(
                "allow-smtp",
                {
                    "podSelector": everyone,
                    "policyTypes": ["Egress"],
                    "egress": [{"ports": _tcp(mail.smtp_port)}],
                },
            )
        )
    monitoring = plat.spec.monitoring
    if monitoring.metrics:
        policies.append(
            np(
                "allow-metrics",
                {
                    "podSelector": everyone,
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [_namespace(monitoring.prometheus_namespace)],
                            "ports": _tcp(common.HTTP_PORT, common.WORKER_METRICS_PORT),
                        }
                    ],
                },
            )
        )
    return policies
