"""The Helm chart in a restricted namespace, and its default platform brought up by the operator
running on nothing but the chart's own ServiceAccount and RBAC."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Release, StartOperator
from kube import PLURALS, Cluster


def test_the_chart_installs_into_a_restricted_namespace_without_pod_security_warnings(
    cluster: Cluster, release: Release
) -> None:
    assert "PodSecurity" not in release.install_output, release.install_output
    assert "would violate" not in release.install_output, release.install_output
    namespace = cluster.core.read_namespace(release.namespace)
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # helm --wait saw them ready: the datastores' pods with their volumes, and the operator's.
    statefulsets = cluster.apps.list_namespaced_stateful_set(release.namespace).items
    assert sorted(s.metadata.name.rsplit("-", 1)[-1] for s in statefulsets) == [
        "mongodb",
        "mysql",
        "redis",
    ]
    for statefulset in statefulsets:
        assert statefulset.status.ready_replicas == statefulset.spec.replicas
    [operator] = cluster.apps.list_namespaced_deployment(
        release.namespace, label_selector="app.kubernetes.io/component=operator"
    ).items
    assert operator.status.available_replicas == 1


def test_the_operator_token_is_the_charts_service_account_and_no_more(
    cluster: Cluster, release: Release, operator_kubeconfig: Path
) -> None:
    as_operator = Cluster(operator_kubeconfig)
    whoami = json.loads(as_operator.kubectl("auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{release.namespace}:{release.service_account}"
    )
    # Secrets are read by name only; pods are read (why a workload is not ready), never written;
    # other namespaces' RBAC is none of its business.
    for request in (
        ("get", "secrets"),
        ("delete", "pod", "no-such-pod"),
        ("create", "role", "escalate", "--verb=*", "--resource=secrets"),
    ):
        denied = as_operator.kubectl("-n", release.namespace, *request, check=False)
        assert denied.returncode != 0 and "forbidden" in denied.stderr, (
            request,
            denied.stderr,
        )


def test_the_charts_platform_becomes_ready_under_the_operator(
    cluster: Cluster, release: Release, start_operator: StartOperator
) -> None:
    start_operator(release.namespace)
    resources = [r for kind in PLURALS for r in cluster.resources(release.namespace, kind)]
    kinds = sorted({r["kind"] for r in resources})
    assert kinds == ["DomainService", "Generator", "ModelServer", "Platform"]
    cluster.wait_all_ready(release.namespace, resources, timeout=180)

    # The chart's generators call its transformers model server: `storybang inference`, which
    # answers to the name the operator reports and the workers send.
    [server] = cluster.resources(release.namespace, "ModelServer")
    served = server["status"]["model"]
    deployment = cluster.apps.read_namespaced_deployment(server["metadata"]["name"], release.namespace)
    [container] = deployment.spec.template.spec.containers
    assert container.command[:2] == ["storybang", "inference"]
    env = {e.name: e.value for e in container.env}
    assert env["STORYBANG_INFERENCE_SERVED_MODEL_NAME"] == served
    for generator in cluster.resources(release.namespace, "Generator"):
        workers = cluster.apps.read_namespaced_deployment(generator["metadata"]["name"], release.namespace)
        env = {e.name: e.value for e in workers.spec.template.spec.containers[0].env}
        [backend] = json.loads(env["STORYBANG_GENERATION__BACKENDS"])
        assert backend == {
            "name": backend["name"],
            "kind": "storybang",
            "base_url": server["status"]["endpoint"],
            "model": served,
        }
