"""Fixtures of the cluster tests: the CRDs installed once, a fresh namespace (with the Secrets a
Platform names) for each test, and the operator run in-process by `kopf.testing.KopfRunner`."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator

import kubernetes
import pytest
import yaml
from kopf.testing import KopfRunner

from storybang_testing.kube import eventually
from tests.cluster.resources import KUBECONFIG, RESYNC
from tests.conftest import CRDS, PROFILES

# The in-process operator's settings, read when it starts: the repository's profiles, a quick
# resync, no metrics port; and its identity. STORYBANG_E2E_OPERATOR_KUBECONFIG can name one bound
# to operator/rbac.yaml, to check that the written-down RBAC is enough; the tests themselves set
# up namespaces and CRDs as the administrator of STORYBANG_E2E_KUBECONFIG.
OPERATOR_ENV = {
    "STORYBANG_OPERATOR_PROFILES_DIR": str(PROFILES),
    "STORYBANG_OPERATOR_RESYNC_SECONDS": str(RESYNC),
    "STORYBANG_OPERATOR_RESYNC_INITIAL_DELAY_SECONDS": "1",
    "STORYBANG_OPERATOR_METRICS_PORT": "0",
    "KUBECONFIG": os.environ.get("STORYBANG_E2E_OPERATOR_KUBECONFIG", KUBECONFIG or ""),
}


@pytest.fixture(scope="session")
def api() -> kubernetes.client.ApiClient:
    if not KUBECONFIG:
        pytest.fail("STORYBANG_E2E_KUBECONFIG is not set: run these through scripts/e2e.sh")
    client = kubernetes.config.new_client_from_config(config_file=KUBECONFIG)
    ext = kubernetes.client.ApiextensionsV1Api(client)
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        try:
            ext.create_custom_resource_definition(crd)
        except kubernetes.client.ApiException as e:
            if e.status != 409:
                raise
            ext.patch_custom_resource_definition(
                crd["metadata"]["name"],
                crd,
                field_manager="storybang-e2e",
                force=True,
                _content_type="application/apply-patch+yaml",
            )
    for path in sorted(CRDS.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        eventually(
            lambda n=name: any(
                c.type == "Established" and c.status == "True"
                for c in ext.read_custom_resource_definition(n).status.conditions or []
            )
        )
    return client


@pytest.fixture
def namespace(api: kubernetes.client.ApiClient) -> Iterator[str]:
    core = kubernetes.client.CoreV1Api(api)
    name = f"sb-{uuid.uuid4().hex[:8]}"
    # Pod Security admission refuses any pod that is not "restricted" in this namespace.
    core.create_namespace({"metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    secrets = {
        "storybang-redis": {
            "url": "redis://127.0.0.1:1/0",
            "address": "127.0.0.1:1",
            "password": "p",
        },
        "storybang-mysql": {"url": "mysql+asyncmy://u:p@127.0.0.1/db"},
        "storybang-mongo": {"url": "mongodb://127.0.0.1/db"},
        "storybang-signing-key": {"signing-key": "not-a-real-key"},
        "storybang-smtp": {"password": "p"},
    }
    for secret, data in secrets.items():
        core.create_namespaced_secret(
            name,
            {
                "metadata": {"name": secret},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )
    yield name
    core.delete_namespace(name)


@pytest.fixture
def operator(namespace: str) -> Iterator[None]:
    args = ["run", "--standalone", "--namespace", namespace, "-m", "storybang_operator"]
    with KopfRunner(args, timeout=120, env=OPERATOR_ENV) as runner:
        yield
    assert runner.exception is None, runner.output
