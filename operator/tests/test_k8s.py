"""The Kubernetes layer's pure parts: resource paths and the comparison that keeps a converged
pass from writing. (Requests to a real API server are the cluster e2e suite's.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from storybang_operator import errors, k8s


def test_paths_of_core_named_and_cluster_scoped_resources() -> None:
    assert k8s.kind_of("v1", "ConfigMap").path("stories", "c") == "/api/v1/namespaces/stories/configmaps/c"
    assert k8s.kind_of("apps/v1", "Deployment").path("stories") == "/apis/apps/v1/namespaces/stories/deployments"
    crd = k8s.kind_of("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert crd.path(None, "scaledobjects.keda.sh") == (
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh"
    )


def test_unmanaged_kind_is_refused() -> None:
    with pytest.raises(errors.InvalidSpec):
        k8s.kind_of("batch/v1", "Job")


def test_every_child_kind_of_the_builders_is_known() -> None:
    from storybang_operator import reconcile

    for kinds in reconcile.CHILD_KINDS.values():
        for api_version, kind in kinds:
            k8s.kind_of(api_version, kind)
    for api_version, kind in reconcile.KEDA_KINDS:
        k8s.kind_of(api_version, kind)


def test_comparison_ignores_what_changes_on_every_write() -> None:
    live = {
        "metadata": {
            "name": "a",
            "resourceVersion": "41",
            "generation": 3,
            "managedFields": [{"manager": "storybang-operator", "time": "2030-01-01T00:00:00Z"}],
        },
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 1},
    }
    preview = {
        "metadata": {
            "name": "a",
            "resourceVersion": "42",
            "generation": 3,
            "managedFields": [{"manager": "storybang-operator", "time": "2030-01-02T00:00:00Z"}],
        },
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 2},
    }
    assert k8s.comparable(live) == k8s.comparable(preview)
    preview["spec"]["replicas"] = 3
    assert k8s.comparable(live) != k8s.comparable(preview)


def test_comparison_ignores_other_managers_entries_but_not_ours() -> None:
    ours = {"manager": "storybang-operator", "operation": "Apply", "fieldsV1": {"f:spec": {}}}
    live = {"metadata": {"name": "a", "managedFields": [ours]}, "spec": {"maxReplicas": 4}}
    # The HPA controller wrote its status between our read and our dry run.
    controller = {"manager": "kube-controller-manager", "subresource": "status"}
    preview = {
        "metadata": {"name": "a", "managedFields": [ours, controller]},
        "spec": {"maxReplicas": 4},
    }
    assert k8s.comparable(live) == k8s.comparable(preview)
    # A field we no longer render shows in our own entry: that apply must happen.
    preview["metadata"]["managedFields"] = [{**ours, "fieldsV1": {"f:spec": {"f:x": {}}}}]
    assert k8s.comparable(live) != k8s.comparable(preview)


def test_kopf_connects_as_the_kubeconfig_the_settings_name(tmp_path: Path) -> None:
    """Outside a pod, the operator's client and Kopf's connection both come from the kubeconfig
    file the settings name at start-up (not the client library's process-wide default)."""
    kubeconfig = tmp_path / "operator.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "operator-token"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    api = k8s.Api.connect(kubeconfig=str(kubeconfig), timeout=1, crd_cache_seconds=0)
    found = api.credentials()
    assert (found.server, found.scheme, found.token) == (
        "https://10.0.0.1:6443",
        "Bearer",
        "operator-token",
    )


def _deployment(replicas: int | None, *, managers: list[tuple[str, str, bool]]) -> dict[str, object]:
    """A live Deployment whose managedFields entries (manager, operation, owns spec.replicas)."""
    entries = [
        {
            "manager": manager,
            "operation": operation,
            "fieldsV1": {"f:spec": {"f:replicas": {}} if owns else {"f:template": {}}},
        }
        for manager, operation, owns in managers
    ]
    spec = {} if replicas is None else {"replicas": replicas}
    return {"kind": "Deployment", "metadata": {"managedFields": entries}, "spec": spec}


def test_replicas_are_handed_over_when_the_operator_stops_applying_its_count() -> None:
    without = {"kind": "Deployment", "spec": {"template": {}}}
    ours = _deployment(3, managers=[(k8s.FIELD_MANAGER, "Apply", True)])
    assert k8s.hands_over_replicas(without, ours)
    # The operator still applies a count, or never applied one, or the object is no Deployment.
    assert not k8s.hands_over_replicas({"kind": "Deployment", "spec": {"replicas": 2}}, ours)
    assert not k8s.hands_over_replicas(without, _deployment(3, managers=[(k8s.FIELD_MANAGER, "Apply", False)]))
    hpa_owned = _deployment(3, managers=[("kube-controller-manager", "Update", True)])
    assert not k8s.hands_over_replicas(without, hpa_owned)
    assert not k8s.hands_over_replicas({"kind": "HorizontalPodAutoscaler", "spec": {}}, ours)
