"""The operator's RBAC in the chart is exactly operator/rbac.yaml: no more, no less, no wildcards."""

from __future__ import annotations

from typing import Any

import yaml

from conftest import FULLNAME, ROOT, Manifest, Render, by_kind, one

Grant = tuple[str, str, str, str]  # apiGroup, resource, resourceName ("" = any), verb


def grants(rules: list[dict[str, Any]]) -> set[Grant]:
    return {
        (group, resource, name, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for name in rule.get("resourceNames") or [""]
        for verb in rule["verbs"]
    }


def reference() -> set[Grant]:
    role = yaml.safe_load((ROOT / "operator" / "rbac.yaml").read_text())
    return grants(role["rules"])


CLUSTER_SCOPED = {
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("", "namespaces"),
    ("kopf.dev", "clusterkopfpeerings"),
}


def test_cluster_scope_grants_exactly_the_operators_rbac(default_manifests: list[Manifest]) -> None:
    role = one(default_manifests, "ClusterRole", f"{FULLNAME}-operator")
    assert grants(role["rules"]) == reference()
    binding = one(default_manifests, "ClusterRoleBinding", f"{FULLNAME}-operator")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{FULLNAME}-operator", "namespace": "stories"}]
    assert not by_kind(default_manifests, "Role")


def test_namespace_scope_uses_roles_and_a_small_cluster_role(render: Render) -> None:
    manifests = render({"operator.scope": "namespace", "operator.watchNamespaces": ["stories", "tales"]})
    roles = by_kind(manifests, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["stories", "tales"]
    bindings = by_kind(manifests, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["stories", "tales"]
    for b in bindings:
        assert b["subjects"][0]["namespace"] == "stories"  # the operator's own namespace
    (cluster_role,) = by_kind(manifests, "ClusterRole")
    namespaced = grants(roles[0]["rules"])
    cluster = grants(cluster_role["rules"])
    assert all((g, r) in CLUSTER_SCOPED for g, r, _, _ in cluster)
    assert not any((g, r) in CLUSTER_SCOPED for g, r, _, _ in namespaced)
    # Together: the reference, less what only --all-namespaces needs.
    expected = {g for g in reference() if (g[0], g[1]) not in {("", "namespaces"), ("kopf.dev", "clusterkopfpeerings")}}
    assert namespaced | cluster == expected


def test_no_rule_uses_a_wildcard(render: Render) -> None:
    for values in ({}, {"operator.scope": "namespace"}):
        for m in render(values):
            for rule in m.get("rules", []) if m["kind"] in ("Role", "ClusterRole") else []:
                for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                    assert "*" not in (rule.get(field) or []), (m["metadata"]["name"], rule)


def test_rbac_and_service_account_can_be_left_to_someone_else(render: Render) -> None:
    manifests = render(
        {"operator.rbac.create": False, "operator.serviceAccount.create": False, "operator.serviceAccount.name": "ops"}
    )
    assert not [m for m in manifests if m["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")]
    assert not by_kind(manifests, "ServiceAccount")
    deploy = one(manifests, "Deployment", f"{FULLNAME}-operator")
    assert deploy["spec"]["template"]["spec"]["serviceAccountName"] == "ops"
