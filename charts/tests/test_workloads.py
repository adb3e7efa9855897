"""Every pod the chart renders runs under Pod Security "restricted", read-only, with probes and
resources; every object carries the chart's labels."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import FULLNAME, Manifest, Render, by_kind, one, pod_specs
from storybang_testing.pod_security import containers, violations

# The renders that between them produce every workload template of the chart.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no persistence": {
        "redis.persistence.enabled": False,
        "mysql.persistence.enabled": False,
        "mongodb.persistence.enabled": False,
    },
    "peering, namespaced": {"operator.replicas": 3, "operator.scope": "namespace"},
    "plain migration job": {"migrations.helmHook": False},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_satisfies_the_restricted_pod_security_standard(render: Render, variant: str) -> None:
    manifests = render(VARIANTS[variant])
    pods = dict(pod_specs(manifests))
    assert len(pods) >= 5, "the operator, three datastores and the migration Job"
    broken = {name: v for name, pod in pods.items() if (v := violations(pod))}
    assert not broken, broken


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_container_has_a_read_only_root_and_resources(render: Render, variant: str) -> None:
    for name, pod in pod_specs(render(VARIANTS[variant])):
        for c in containers(pod):
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert c["resources"].get("requests"), (name, c["name"])
            assert c["resources"].get("limits", {}).get("memory"), (name, c["name"])


def test_long_running_containers_have_probes(default_manifests: list[Manifest]) -> None:
    for name, pod in pod_specs(default_manifests):
        if name.startswith("Job/"):
            continue
        for c in pod["containers"]:
            assert {"livenessProbe", "readinessProbe", "startupProbe"} <= c.keys(), (name, c["name"])


def test_only_the_operator_mounts_an_api_token(default_manifests: list[Manifest]) -> None:
    for name, pod in pod_specs(default_manifests):
        assert pod["automountServiceAccountToken"] is (name == f"Deployment/{FULLNAME}-operator"), name


def test_every_object_carries_the_chart_labels(default_manifests: list[Manifest]) -> None:
    for m in default_manifests:
        labels = m["metadata"].get("labels", {})
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
            "helm.sh/chart",
        ):
            assert key in labels, (m["kind"], m["metadata"]["name"], key)


def test_common_labels_and_annotations_reach_every_object(render: Render) -> None:
    manifests = render({"commonLabels": {"team": "stories"}, "commonAnnotations": {"owner": "stories"}})
    for m in manifests:
        assert m["metadata"]["labels"]["team"] == "stories", (m["kind"], m["metadata"]["name"])
        assert m["metadata"]["annotations"]["owner"] == "stories", (m["kind"], m["metadata"]["name"])


def test_chart_pods_stay_outside_the_operators_default_deny(default_manifests: list[Manifest]) -> None:
    """The operator's NetworkPolicies deny everything to pods labelled part-of=storybang; only the
    migration Job opts in (it then gets the DNS and datastore paths of StoryBang pods)."""
    for name, _ in pod_specs(default_manifests):
        kind, obj = name.split("/")
        labels = one(default_manifests, kind, obj)["spec"]["template"]["metadata"]["labels"]
        assert (labels.get("app.kubernetes.io/part-of") == "storybang") is (kind == "Job"), name


def test_operator_runs_kopf_for_all_namespaces_with_a_liveness_endpoint(default_manifests: list[Manifest]) -> None:
    deploy = one(default_manifests, "Deployment", f"{FULLNAME}-operator")
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["kopf"]
    assert c["args"][:3] == ["run", "-m", "storybang_operator"]
    assert "--all-namespaces" in c["args"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in c["args"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["STORYBANG_OPERATOR_REPLICAS"] == "1"
    assert env["STORYBANG_OPERATOR_METRICS_PORT"] == "9090"


def test_namespaced_operator_watches_the_release_namespace(render: Render) -> None:
    manifests = render({"operator.scope": "namespace"})
    args = one(manifests, "Deployment", f"{FULLNAME}-operator")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=stories" in args
    assert "--all-namespaces" not in args


def test_several_operator_pods_peer_with_distinct_priorities(render: Render) -> None:
    manifests = render({"operator.replicas": 2})
    deploy = one(manifests, "Deployment", f"{FULLNAME}-operator")
    assert "strategy" not in deploy["spec"]
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["/bin/sh", "-c"]
    assert c["args"][0].startswith("exec kopf run -m storybang_operator ")
    assert "--priority=" in c["args"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["STORYBANG_OPERATOR_REPLICAS"] == "2"
    peering = one(manifests, "ClusterKopfPeering", env["STORYBANG_OPERATOR_PEERING_NAME"])
    assert peering["apiVersion"] == "kopf.dev/v1"


def test_datastores_are_statefulsets_with_claims_on_the_default_storage_class(
    default_manifests: list[Manifest],
) -> None:
    sets = {s["metadata"]["name"]: s for s in by_kind(default_manifests, "StatefulSet")}
    assert set(sets) == {f"{FULLNAME}-redis", f"{FULLNAME}-mysql", f"{FULLNAME}-mongodb"}
    for s in sets.values():
        (claim,) = s["spec"]["volumeClaimTemplates"]
        assert "storageClassName" not in claim["spec"]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert one(default_manifests, "Service", s["spec"]["serviceName"])["spec"]["clusterIP"] == "None"


def test_storage_class_comes_from_the_store_or_the_global_value(render: Render) -> None:
    manifests = render({"global.storageClass": "fast", "mysql.persistence.storageClass": "ssd"})
    classes = {
        s["metadata"]["name"]: s["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"]
        for s in by_kind(manifests, "StatefulSet")
    }
    assert classes == {f"{FULLNAME}-redis": "fast", f"{FULLNAME}-mysql": "ssd", f"{FULLNAME}-mongodb": "fast"}


def test_images_follow_registry_tag_digest_and_global_registry(render: Render) -> None:
    def image(manifests: list[Manifest], name: str) -> str:
        return str(one(manifests, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["image"])

    assert image(render(), f"{FULLNAME}-operator") == "ghcr.io/storybang/storybang-operator:0.1.0"
    digest = "sha256:" + "a" * 64
    assert image(render({"operator.image.digest": digest}), f"{FULLNAME}-operator").endswith(f"@{digest}")
    assert image(render({"global.imageRegistry": "mirror.local:5000"}), f"{FULLNAME}-operator").startswith(
        "mirror.local:5000/storybang/"
    )
    local = render({"operator.image.registry": "", "operator.image.repository": "storybang-operator"})
    assert image(local, f"{FULLNAME}-operator") == "storybang-operator:0.1.0"
    assert image(render({"operator.image.registry": None}), f"{FULLNAME}-operator").startswith("storybang/")
