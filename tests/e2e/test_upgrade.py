"""`helm upgrade` from the previous chart to this one keeps the data: the generated credentials
(the databases took them on their first start), the custom resources, and it upgrades the CRDs.

kwok runs no container, so the data here is what the API server holds: the Secrets the chart
generated and the custom resources. The databases' volumes are PersistentVolumeClaims the chart
never deletes; that they survive is checked as well.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

import kube
from cluster import VolumeProvisioner
from kube import CHART, PLURALS, Cluster

# The previous release (kube.PREVIOUS) is the chart as it was before the CRDs had a chart of their
# own: its Platform CRD has no spec.trustedProxies, and Helm installed its CRDs from crds/.
RELEASE = "upgraded"
CREDENTIALS = ("redis", "mysql", "mongodb", "signing-key")


@pytest.fixture
def previous_chart(tmp_path: Path) -> Path:
    return kube.previous_chart(tmp_path)


@pytest.fixture
def upgrade_namespace(cluster: Cluster, volumes: VolumeProvisioner) -> Iterator[str]:
    with kube.release_namespace(cluster, "upgrade", (RELEASE, "storybang-crds")) as name:
        yield name


def secret_values(cluster: Cluster, namespace: str) -> dict[str, dict[str, str]]:
    out = {}
    for name in CREDENTIALS:
        secret = cluster.core.read_namespaced_secret(f"{RELEASE}-storybang-{name}", namespace)
        out[name] = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
    return out


def resource_uids(cluster: Cluster, namespace: str) -> dict[str, str]:
    return {
        f"{kind}/{r['metadata']['name']}": r["metadata"]["uid"]
        for kind in PLURALS
        for r in cluster.resources(namespace, kind)
    }


def volume_claims(cluster: Cluster, namespace: str) -> dict[str, str]:
    return {
        c.metadata.name: c.metadata.uid for c in cluster.core.list_namespaced_persistent_volume_claim(namespace).items
    }


def served_platform_fields(cluster: Cluster) -> set[str]:
    crd = cluster.extensions.read_custom_resource_definition("platforms.storybang.io")
    [version] = [v for v in crd.spec.versions if v.served]
    return set(version.schema.open_apiv3_schema.properties["spec"].properties)


def test_helm_upgrade_from_the_previous_chart_keeps_credentials_and_resources_and_upgrades_the_crds(
    cluster: Cluster, previous_chart: Path, upgrade_namespace: str
) -> None:
    namespace = upgrade_namespace
    kube.previous_crds_as_helm_left_them(cluster, previous_chart)
    assert "trustedProxies" not in served_platform_fields(cluster)
    cluster.helm("install", RELEASE, str(previous_chart), "-n", namespace, "--wait", "--timeout", "5m")
    before = secret_values(cluster, namespace)
    resources = resource_uids(cluster, namespace)
    assert {key.split("/")[0] for key in resources} == set(PLURALS)
    claims = {
        c.metadata.name: c.metadata.uid for c in cluster.core.list_namespaced_persistent_volume_claim(namespace).items
    }
    assert len(claims) == 3

    # The upgrade as the chart README says: the CRDs first (taking them over from crds/ the first
    # time), then the release.
    cluster.helm(
        "upgrade", "--install", "storybang-crds", str(kube.CRDS_CHART), "-n", namespace, "--take-ownership", "--wait"
    )
    cluster.helm("upgrade", RELEASE, str(CHART), "-n", namespace, "--wait", "--timeout", "5m")

    assert secret_values(cluster, namespace) == before
    assert resource_uids(cluster, namespace) == resources
    after = {
        c.metadata.name: c.metadata.uid for c in cluster.core.list_namespaced_persistent_volume_claim(namespace).items
    }
    assert after == claims
    assert "trustedProxies" in served_platform_fields(cluster)
    crd = cluster.extensions.read_custom_resource_definition("platforms.storybang.io")
    assert crd.metadata.annotations["meta.helm.sh/release-name"] == "storybang-crds"
    assert crd.metadata.annotations["helm.sh/resource-policy"] == "keep"
    # The upgraded chart runs Redis below its memory limit.
    redis = cluster.apps.read_namespaced_stateful_set(f"{RELEASE}-storybang-redis", namespace)
    assert "--maxmemory" in redis.spec.template.spec.containers[0].args
